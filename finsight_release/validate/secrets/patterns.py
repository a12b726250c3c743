"""What credentials look like: a combined prefilter regex, precise rules, false-positive filters, masking.

One cheap alternation of literal anchors (``PREFILTER``) is run once over each file; only the lines
it hits are matched against the precise rules, in priority order (a specific rule such as "AWS access
key id" wins over the generic assignment rule on the same span). Rules whose match alone is not
proof (generic ``password=``/``token=`` assignments, credentials in URLs) are filtered afterwards:
placeholders and references (``{{ env_var(...) }}``, ``${VAR}``, ``aws-sm:...``, ``env:...``) and code
(``conn.password``, ``Variable.get(...)``) are not secrets, and a value must be random enough
(Shannon entropy) to count.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

# rule name -> (description, regex with a group named "value" holding the secret part).
RULES: dict[str, tuple[str, str]] = {
    "aws_access_key_id": (
        "AWS access key id",
        r"\b(?P<aws_access_key_id>(?:AKIA|ASIA)[0-9A-Z]{16})\b",
    ),
    "aws_secret_access_key": (
        "AWS secret access key",
        r"(?i:aws_?secret_?(?:access_?)?key)[\"']?\s*[:=]\s*[\"']?(?P<aws_secret_access_key>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
    ),
    "private_key": (
        "private key block",
        r"(?P<private_key>-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)",
    ),
    "github_token": (
        "GitHub token",
        r"\b(?P<github_token>(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255}))\b",
    ),
    "slack_webhook": (
        "Slack webhook URL",
        r"(?P<slack_webhook>https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+)",
    ),
    "slack_token": ("Slack token", r"\b(?P<slack_token>xox[abposr]-[A-Za-z0-9-]{10,})"),
    "jwt": (
        "JSON Web Token",
        r"\b(?P<jwt>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
    ),
    "url_password": (
        "password in a connection string",
        r"\b[a-z][a-z0-9+.-]{1,30}://[^\s:/@\"'<>]{1,128}:(?P<url_password>[^\s@/\"'<>]{3,256})@[^\s\"'<>]",
    ),
    "assigned_secret": (
        "secret assigned to a password/token/key variable",
        # Not after ':' (ARN segments like ...:secret:name) and a ':' separator must be followed by space or a
        # quote, so IAM actions and URNs (secretsmanager:GetSecretValue) are not taken for assignments.
        r"(?<![:\w])(?P<assigned_key>(?i:(?:password|passwd|pwd|secret|token|api_?key|access_?key|private_?key"
        r"|credential)[a-z0-9_]*))[\"']?\s*(?::(?=[\s\"'])|=|:=|=>)\s*(?P<quote>[\"']?)"
        r"(?P<assigned_secret>[^\s\"',;)}]{8,512})(?P=quote)",
    ),
}

COMPILED = {rule: re.compile(pattern) for rule, (_, pattern) in RULES.items()}
# Literal anchors of every rule: a line without one of these cannot match any rule.
PREFILTER_PATTERN = (
    r"(?i)AKIA|ASIA|PRIVATE KEY|gh[pousr]_|github_pat_|hooks\.slack|xox[abposr]-|eyJ|://|pass|pwd|secret|token"
    r"|key|credential"
)
PREFILTER = re.compile(PREFILTER_PATTERN)
PREFILTER_LOWER = re.compile(PREFILTER_PATTERN.removeprefix("(?i)").lower())
# Variable names that hold a secret's name or location, not its value.
NON_VALUE_KEYS = re.compile(r"(?i)(name|_id|arn|path|file|ref|type|length|env|var|prefix|url)$")

# Rules whose hit alone is not proof: the value must pass the filters below.
FILTERED_RULES = frozenset({"assigned_secret", "url_password"})
# A value starting with these is a reference or template, never the secret itself.
REFERENCE_MARKERS = (
    "${",
    "{{",
    "{%",
    "$(",
    "%(",
    "<",
    "aws-sm:",
    "env:",
    "os.environ",
    "var.",
    "local.",
    "data.",
)
PLACEHOLDER_WORDS = (
    "changeme",
    "change_me",
    "example",
    "placeholder",
    "dummy",
    "redacted",
    "your_",
    "xxxx",
    "****",
)
MIN_ENTROPY = 3.0
ALLOW_MARKERS = ("finsight: allow-secret", "pragma: allowlist secret")


@dataclass(frozen=True)
class SecretHit:
    """A credential found in text: rule, 1-based line, and the value masked (the value is never kept)."""

    rule: str
    description: str
    line: int
    masked: str


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``: high for random keys, low for words and repeated characters."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_like_secret_value(value: str) -> bool:
    """True when a generic assignment's value is a literal random enough to be a credential."""
    lowered = value.lower()
    if lowered.startswith(REFERENCE_MARKERS) or any(word in lowered for word in PLACEHOLDER_WORDS):
        return False
    # Identifiers and dotted attribute paths (conn.password, settings.token) are code, not literals.
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+(\(\))?", value):
        return False
    if re.match(r"[A-Za-z_][\w.]*\(", value):  # a call: Variable.get(...), os.getenv(...)
        return False
    classes = sum(
        bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    return len(value) >= 8 and classes >= 2 and shannon_entropy(value) >= MIN_ENTROPY


def mask(rule: str, value: str) -> str:
    """A masked rendering that proves nothing about the value: a public prefix at most, and its length."""
    public_prefix = {
        "aws_access_key_id": 4,
        "github_token": 4,
        "slack_token": 4,
        "jwt": 3,
        "private_key": 0,
    }
    keep = public_prefix.get(rule, 0)
    if rule == "private_key":
        return "-----BEGIN ... PRIVATE KEY-----"
    return f"{value[:keep]}{'*' * 8} ({len(value)} chars)"


def _accepted(rule: str, match: re.Match[str]) -> bool:
    if rule == "assigned_secret" and NON_VALUE_KEYS.search(match.group("assigned_key")):
        return False
    return rule not in FILTERED_RULES or looks_like_secret_value(match.group(rule))


def _line_hits(line: str) -> list[tuple[int, int, str]]:
    """(start, end, rule) of the secret values in one line; earlier rules win overlapping spans."""
    taken: list[tuple[int, int, str]] = []
    for rule, pattern in COMPILED.items():
        for match in pattern.finditer(line):
            start, end = match.span(rule)
            if _accepted(rule, match) and not any(s < end and start < e for s, e, _ in taken):
                taken.append((start, end, rule))
    return sorted(taken)


def candidate_lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based number, text) of each line the prefilter hits, each line once."""
    # Matching lower-cased text case-sensitively is ~8x faster than (?i); only when lengths agree
    # (a few Unicode characters change length when lower-cased) do offsets carry over.
    lowered = text.lower()
    prefilter = PREFILTER_LOWER if len(lowered) == len(text) else PREFILTER
    haystack = lowered if prefilter is PREFILTER_LOWER else text
    line_number, counted_to, position = 1, 0, 0
    while (match := prefilter.search(haystack, position)) is not None:
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.start())
        line_end = len(text) if line_end < 0 else line_end
        line_number += text.count("\n", counted_to, line_start)
        counted_to = line_start
        yield line_number, text[line_start:line_end]
        position = line_end + 1


def find_secrets(text: str) -> Iterator[SecretHit]:
    """Credentials in ``text`` with their line numbers; lines carrying an allow marker are skipped."""
    for number, line in candidate_lines(text):
        if any(marker in line for marker in ALLOW_MARKERS):
            continue
        for start, end, rule in _line_hits(line):
            yield SecretHit(
                rule=rule,
                description=RULES[rule][0],
                line=number,
                masked=mask(rule, line[start:end]),
            )


def redact(text: str) -> str:
    """``text`` with every credential-looking value replaced by its mask (used before printing reports)."""
    if not PREFILTER.search(text):
        return text
    pieces, last = [], 0
    for start, end, rule in _line_hits(text):
        pieces += [text[last:start], mask(rule, text[start:end])]
        last = end
    return "".join(pieces) + text[last:]
