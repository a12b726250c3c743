"""Failure diagnosis: classify error output to its root-cause class, not the wrapper around it.

How a text is scored:

1. Pre-filter. Every rule has literal anchors (``patterns.anchors_of``); only lines holding one are
   looked at (one pass of a trie-shaped regex of all anchors over the lowercased text), and on such
   a line only the rules whose anchor it holds run their regex. At most
   the last ``MAX_SCORED_LINES`` of them are scored, which keeps a 10 MB log well under two seconds
   and keeps the end of the log, where tools print their final error.
2. Rules. Each line is matched against every rule (``patterns.RULES``); per class the most specific
   rule on the line counts. If several classes match one line, the most specific one takes it fully
   and the others get half (an "invalid identifier" line that also says "Database Error" is schema).
3. Unwrapping. Wrapper rules ("Broken DAG", "Database Error in model", "make: ***") weigh little.
   The exception line that ends a Python traceback weighs double; in a chained traceback ("The above
   exception was the direct cause of...") the first, innermost one weighs most.
4. Tail emphasis: a line's weight grows linearly from 1x at the top of the log to 2x at the end.
5. Context (which step failed, drift or schema findings, a failed credential probe, failing checks)
   adds a prior worth about one specific line. What the failing release changed (``ReleaseEvidence``:
   its change set and lock diff against the last good release) adds evidence of its own: a moved
   dependency that the error text names is worth two specific lines, and "nothing but dependencies
   changed" turns an import/attribute/parse error into ``dependency_conflict`` with both versions named.
6. No silent default. With no evidence, thin evidence, or two classes too close to call, the answer
   is ``unclassified`` with the ranked candidates and, for each, the check that would confirm it.
   Confidence is calibrated on the tune split (``CALIBRATION``): of the answers given at >= 0.8, the
   share that is right is reported by ``evaluate --reliability``.

Input is normalised first (ANSI colour codes, carriage returns, NULs and other control characters
removed; UTF-16/32 detected by BOM or NUL pattern), and files are streamed: a log larger than
``MAX_SCAN_BYTES`` is diagnosed from its first ``HEAD_BYTES`` and last ``MAX_SCAN_BYTES`` (tools
print their final error at the end), so a 1 GB log takes as long as a 16 MB one.
"""

from __future__ import annotations

import bisect
import codecs
import itertools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict

from finsight_release.diagnose.categories import INFO, Category, runbook_link
from finsight_release.diagnose.patterns import (
    AFTER_MARKERS,
    KEYWORD_PATTERN,
    RULES,
    STEP_PRIORS,
    Rule,
)
from finsight_release.diagnose.release_context import (
    DependencyMove,
    ReleaseEvidence,
    mentioned_moves,
)

MAX_EVIDENCE = 5
MAX_SCORED_LINES = 20_000
MAX_LINE_CHARS = 4_000
CONTEXT_PRIOR = 6.0
SHARED_LINE_FACTOR = 0.5
MAX_CANDIDATES = 3
MAX_SCAN_BYTES = 16_000_000
HEAD_BYTES = 1_000_000
READ_CHUNK = 4_000_000

# Abstention: below this calibrated confidence the answer is ``unclassified`` (chosen on the tune
# split: above it answers are right far more often than not, below it about as often wrong).
ABSTAIN_BELOW = 0.35
# Two classes whose evidence is this close (runner-up / winner) are too close to call, whatever the
# total: the answer is ``unclassified`` with both as candidates.
TOO_CLOSE_RATIO = 0.8
# Raw confidence (margin x strength) -> share of right answers, measured on the tune split of the
# corpus with the catalog rules in place (bins of raw confidence; piecewise linear in between,
# monotone). ``evaluate --reliability`` prints the table this was read from.
CALIBRATION: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (0.15, 0.2),
    (0.3, 0.45),
    (0.45, 0.7),
    (0.6, 0.85),
    (0.75, 0.93),
    (1.0, 0.97),
)

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\\\)|\x1b[@-Z\\\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Exceptions a moved library typically raises in unchanged code: with a dependency-only release they
# point at the dependency, whatever layer printed them.
_DEPENDENCY_SENSITIVE = re.compile(
    r"ImportError|ModuleNotFoundError|AttributeError|TypeError|unexpected keyword|has no attribute|"
    r"cannot import name|croniter|Invalid timetable|is not a valid cron|DeprecationWarning|NameError",
    re.IGNORECASE,
)

_EXCEPTION_LINE = re.compile(
    r"^\s*(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Failure|Failed)\b\s*[:(]"
)
_CHAIN_MARKERS = (
    "the above exception was the direct cause",
    "during handling of the above exception",
)
_SECRET = re.compile(
    r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|authorization)[\"']?\s*[=:]\s*[\"']?)[^\s\"',}]+"
    r"|(AKIA|ASIA)[A-Z0-9]{16}"
    r"|eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{5,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|(://[^:/\s@]+:)[^@\s]+(@)"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]*"
)


@dataclass(frozen=True)
class DiagnosisContext:
    """What is known besides the text: the failed step and what other detectors found."""

    failed_step: str | None = None
    drift_found: bool = False
    schema_diff: bool = False
    credential_probe_failed: bool = False
    failed_checks: tuple[str, ...] = field(default_factory=tuple)
    release: ReleaseEvidence | None = None


class Candidate(BaseModel):
    """One class the evidence points to, its share of the evidence, and the check that would decide it."""

    model_config = ConfigDict(frozen=True)

    category: Category
    score: float
    share: float
    decide: str


class Diagnosis(BaseModel):
    """The root cause of a failure, why we think so, and what to do."""

    model_config = ConfigDict(frozen=True)

    category: Category
    confidence: float
    evidence: list[str]
    layer: str
    next_steps: list[str]
    rollback_recommended: bool
    scores: dict[str, float]
    candidates: list[Candidate] = []
    explanation: str | None = None
    dependency_moves: list[str] = []
    notes: list[str] = []


@dataclass(frozen=True)
class _Hit:
    category: Category
    value: float
    line: str


def redact(line: str) -> str:
    """Mask credential-looking values (passwords, tokens, keys, URL passwords) in a line."""

    def mask(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1) + "****"
        if match.group(3):
            return f"{match.group(3)}****{match.group(4)}"
        return "****"

    return _SECRET.sub(mask, line)


def candidate_lines(text: str) -> tuple[list[int], list[str]]:
    """Indexes of lines holding any rule anchor, and all lines.

    One pass of ``patterns.KEYWORD_PATTERN`` (every anchor, as a trie-shaped regex) over the
    lowercased text is far cheaper than running the rules on every line of a large log. A match never
    spans lines (anchors hold no newline), so every line holding an anchor yields at least one match.
    """
    lower = text.lower()
    # Split on "\n" only (not str.splitlines, which also splits on \x85 and \u2028): line numbers
    # must agree with the character offsets the keyword search finds.
    lines = text.split("\n")
    starts = [0, *itertools.accumulate(len(line) + 1 for line in lines[:-1])]
    found = {
        bisect.bisect_right(starts, match.start()) - 1 for match in KEYWORD_PATTERN.finditer(lower)
    }
    return sorted(found), lines


def unwrap_factors(text: str, lines: list[str], indexes: list[int]) -> dict[int, float]:
    """Extra weight for the lines that name a traceback's exception: the root cause sits there.

    In a chained traceback the first exception is the innermost cause, so exceptions printed before
    the first chain marker weigh 2.5x and those after it (the wrappers) 1.5x; otherwise 2x.
    """
    lower = text.lower()
    at = min((i for m in _CHAIN_MARKERS if (i := lower.find(m)) != -1), default=-1)
    marker = text.count("\n", 0, at) if at != -1 else None
    factors: dict[int, float] = {}
    for index in indexes:
        if _EXCEPTION_LINE.match(lines[index]):
            if marker is None:
                factors[index] = 2.0
            else:
                factors[index] = 2.5 if index < marker else 1.5
    return factors


def line_hits(line: str, active: frozenset[str] = frozenset()) -> dict[Category, Rule]:
    """The most specific rule of each class that matches this line.

    A rule's regex only runs when one of its anchors occurs in the line, which is what makes scoring
    thousands of candidate lines cheap. Sequence rules count only when their ``after`` marker is in
    ``active`` (it occurred on an earlier line).
    """
    lower = line.lower()
    best: dict[Category, Rule] = {}
    for rule in RULES:
        if rule.weight <= getattr(best.get(rule.category), "weight", 0.0):
            continue
        if rule.after and rule.after not in active:
            continue
        if any(anchor in lower for anchor in rule.anchors) and rule.pattern.search(line):
            best[rule.category] = rule
    return best


def _marker_lines(text: str) -> dict[str, int]:
    """For each sequence-rule marker, the index of the first line holding it."""
    lower = text.lower()
    found: dict[str, int] = {}
    for marker in AFTER_MARKERS:
        at = lower.find(marker)
        if at != -1:
            found[marker] = text.count("\n", 0, at)
    return found


def score_lines(text: str) -> tuple[dict[Category, float], list[_Hit]]:
    """Per-class scores and the scored lines behind them."""
    indexes, lines = candidate_lines(text)
    indexes = [i for i in indexes if i < len(lines) and len(lines[i]) <= MAX_LINE_CHARS][
        -MAX_SCORED_LINES:
    ]
    markers = _marker_lines(text)

    def active(index: int) -> frozenset[str]:
        return frozenset(m for m, at in markers.items() if at < index)

    matches = {i: m for i in indexes if (m := line_hits(lines[i], active(i)))}
    factors = unwrap_factors(text, lines, list(matches))
    total = max(len(lines), 1)
    scores: dict[Category, float] = {}
    hits: list[_Hit] = []
    for index, matched in matches.items():
        top = max(rule.weight for rule in matched.values())
        position = 1.0 + index / total
        for category, rule in matched.items():
            share = 1.0 if rule.weight == top else SHARED_LINE_FACTOR
            unwrap = 1.0 if rule.wrapper else factors.get(index, 1.0)
            value = rule.weight * share * unwrap * position
            scores[category] = scores.get(category, 0.0) + value
            hits.append(_Hit(category, value, lines[index].strip()))
    return scores, hits


def apply_context(scores: dict[Category, float], context: DiagnosisContext | None) -> None:
    """Shift scores by what the failed step and other detectors already tell."""
    if context is None:
        return
    if context.failed_step:
        step = context.failed_step.lower()
        category = next((c for prefix, c in STEP_PRIORS if step.startswith(prefix)), None)
        if category is not None:
            scores[category] = scores.get(category, 0.0) + CONTEXT_PRIOR
    for flag, category in (
        (context.drift_found, Category.INFRA_DRIFT),
        (context.schema_diff, Category.SCHEMA_CHANGE),
        (context.credential_probe_failed, Category.BAD_CREDENTIALS),
        (bool(context.failed_checks), Category.DATA_QUALITY),
    ):
        if flag:
            scores[category] = scores.get(category, 0.0) + CONTEXT_PRIOR


def apply_release(
    scores: dict[Category, float], text: str, release: ReleaseEvidence | None
) -> tuple[str | None, list[DependencyMove]]:
    """Weigh what the failing release changed; returns an explanation and the moves it rests on.

    - A moved dependency the text names (a traceback through ``site-packages/croniter``, an
      ``ImportError`` from the provider that moved) is worth two specific lines of
      ``dependency_conflict``.
    - A release that changed nothing but pinned dependencies or images ("unchanged code, a
      dependency moved") turns a dependency-sensitive error (import, attribute, type, cron parse)
      into ``dependency_conflict`` even when no moved package is named.
    - Otherwise the change classes are a mild prior towards their layer (Terraform changed: an IaC
      error is the change's; Terraform unchanged: a Terraform error is more likely drift).
    """
    if release is None:
        return None, []
    lower = text.lower()
    named = mentioned_moves(lower, release.moves)
    python_moves = [m for m in release.moves if not m.package.startswith("image:")]
    top = max(scores.values(), default=0.0)
    if named:
        # Only dependencies changed and the error runs through one that moved: that decides the layer,
        # whatever layer printed the error. With code changes too, it is strong evidence, not the verdict.
        boost = top + 2 * CONTEXT_PRIOR if not release.code_changed else 2 * CONTEXT_PRIOR
        scores[Category.DEPENDENCY_CONFLICT] = scores.get(Category.DEPENDENCY_CONFLICT, 0.0) + boost
        versions = "; ".join(m.describe() for m in named[:3])
        prefix = (
            "unchanged code, a dependency moved"
            if not release.code_changed
            else "a dependency moved"
        )
        return (
            f"{prefix}: {versions} (release {release.release_id} vs {release.base_release_id})",
            named,
        )
    if python_moves and not release.code_changed and _DEPENDENCY_SENSITIVE.search(text):
        # Unchanged code now failing on an import/attribute/parse error: the moved pins are the only
        # change that can explain it, but no moved package is named, so it wins by a smaller margin.
        current = scores.get(Category.DEPENDENCY_CONFLICT, 0.0)
        scores[Category.DEPENDENCY_CONFLICT] = max(current, top) + CONTEXT_PRIOR
        versions = "; ".join(m.describe() for m in python_moves[:3])
        return (
            f"unchanged code, a dependency moved: {versions} (release {release.release_id} vs "
            f"{release.base_release_id}; only pinned dependencies changed)",
            python_moves[:3],
        )
    half = CONTEXT_PRIOR / 2
    if "infra" in release.changed and Category.INFRA_DRIFT in scores:
        scores[Category.IAC_CHANGE] = scores.get(Category.IAC_CHANGE, 0.0) + half
    if "infra" not in release.changed and Category.IAC_CHANGE in scores:
        scores[Category.INFRA_DRIFT] = scores.get(Category.INFRA_DRIFT, 0.0) + half
    if "config" in release.changed and Category.CONFIG_SECRETS in scores:
        scores[Category.CONFIG_SECRETS] += half
    if "dag_only" in release.changed and Category.DAG_PARSE in scores:
        scores[Category.DAG_PARSE] += half
    if python_moves and Category.DEPENDENCY_CONFLICT in scores:
        scores[Category.DEPENDENCY_CONFLICT] += half
    return None, []


def raw_confidence(ranked: list[tuple[Category, float]]) -> float:
    """Share of the winner against the runner-up, damped when the total evidence is thin."""
    if not ranked:
        return 0.0
    top = ranked[0][1]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    margin = top / (top + runner_up) if top + runner_up else 0.0
    strength = 1.0 - math.exp(-top / 8.0)
    return margin * strength


def calibrate(raw: float) -> float:
    """Raw confidence -> expected share of right answers (piecewise linear over ``CALIBRATION``)."""
    for (x0, y0), (x1, y1) in zip(CALIBRATION, CALIBRATION[1:], strict=False):
        if raw <= x1:
            return round(y0 + (y1 - y0) * (raw - x0) / (x1 - x0), 3)
    return CALIBRATION[-1][1]


def confidence_of(ranked: list[tuple[Category, float]]) -> float:
    """Calibrated confidence of the top class (0 with no evidence)."""
    return calibrate(raw_confidence(ranked))


def evidence_lines(hits: list[_Hit], category: Category) -> list[str]:
    """The up to five strongest, distinct, redacted lines behind the winning class."""
    chosen: list[str] = []
    for hit in sorted(
        (h for h in hits if h.category == category), key=lambda h: h.value, reverse=True
    ):
        line = redact(hit.line)[:300]
        if line not in chosen:
            chosen.append(line)
        if len(chosen) == MAX_EVIDENCE:
            break
    return chosen


def normalize(text: str) -> str:
    """Strip ANSI colour/cursor codes, carriage returns, NULs and other control characters.

    Colour codes split words (``\x1b[31mError\x1b[0m``) and Windows line endings end every line with
    ``\r``; neither may change what a rule sees.
    """
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def _candidates(ranked: list[tuple[Category, float]]) -> list[Candidate]:
    total = sum(v for _, v in ranked) or 1.0
    return [
        Candidate(category=c, score=round(v, 2), share=round(v / total, 3), decide=INFO[c].confirm)
        for c, v in ranked[:MAX_CANDIDATES]
    ]


def diagnose_text(
    text: str, context: DiagnosisContext | None = None, notes: list[str] | None = None
) -> Diagnosis:
    """Classify failure output (a log, a traceback, a tool's stderr) to one root-cause class.

    Args:
        text: the error output; any size (large logs are pre-filtered, see the module docstring).
        context: optional hints (failed step, drift/schema findings, credential probe, failed checks,
            what the failing release changed).
        notes: remarks about the input to pass through (e.g. that only the log's tail was read).

    Returns:
        A frozen ``Diagnosis``. When the evidence supports no class (none found, too thin, or two
        classes too close) the class is ``unclassified``, with the ranked candidates and the check
        that would decide between them.

    Examples:
        >>> diagnose_text("Broken DAG: [/dags/a.py] No module named 'pandas_gbq'").category.value
        'dependency_conflict'
        >>> diagnose_text("").category.value
        'unclassified'
    """
    text = normalize(text)
    notes = list(notes or [])
    scores, hits = score_lines(text)
    apply_context(scores, context)
    explanation, moves = apply_release(scores, text, context.release if context else None)
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    confidence = confidence_of(ranked)
    candidates = _candidates(ranked)
    if not text.strip():
        notes.append("empty input: nothing to diagnose")
    elif not ranked and _looks_binary(text):
        notes.append("input does not look like text (binary or an unknown encoding)")
    too_close = len(ranked) > 1 and ranked[1][1] >= TOO_CLOSE_RATIO * ranked[0][1]
    if ranked and confidence >= ABSTAIN_BELOW and not too_close:
        category = ranked[0][0]
        info = INFO[category]
        next_steps = [info.first_step, info.confirm, f"Runbook: {runbook_link(category)}"]
        evidence = evidence_lines(hits, category)
    else:
        category = Category.UNCLASSIFIED
        info = INFO[category]
        if ranked:
            names = ", ".join(f"{c.category} ({c.share:.0%})" for c in candidates)
            next_steps = [f"The evidence is too thin or too close to call between: {names}."]
            next_steps += [f"To confirm {c.category}: {c.decide}" for c in candidates]
        else:
            next_steps = [
                "No known error pattern found; read the end of the log and the failed step's output."
            ]
        next_steps += [info.confirm, f"Runbook: {runbook_link(category)}"]
        evidence = [line for c in candidates for line in evidence_lines(hits, c.category)[:2]][
            :MAX_EVIDENCE
        ]
    if explanation:
        next_steps.insert(0, f"Explanation: {explanation}")
    return Diagnosis(
        category=category,
        confidence=confidence if category is not Category.UNCLASSIFIED else round(confidence, 3),
        evidence=evidence,
        layer=info.layer,
        next_steps=next_steps,
        rollback_recommended=info.rollback_recommended,
        scores={str(c): round(v, 2) for c, v in ranked},
        candidates=candidates,
        explanation=explanation,
        dependency_moves=[m.describe() for m in moves],
        notes=notes,
    )


def _looks_binary(text: str) -> bool:
    """More than a tenth replacement characters or no letters at all in the first 64 KB."""
    sample = text[:65_536]
    return sample.count("\ufffd") > len(sample) / 10 or not any(ch.isalpha() for ch in sample)


def _decoder_for(head: bytes) -> tuple[str, int]:
    """The encoding of a byte stream from its first bytes (BOM, else NUL pattern), and the BOM length."""
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            rest = head[len(bom) : len(bom) + 4096]
            # A UTF-16/32 BOM before bytes that hold no NUL and read as UTF-8 is noise, not a BOM.
            if (
                name != "utf-8"
                and b"\x00" not in rest
                and rest.decode("utf-8", "replace").count("\ufffd") < 4
            ):
                return "utf-8", 0
            return name, len(bom)
    sample = head[:4096]
    if len(sample) >= 8:
        # ASCII text in UTF-16 has a NUL in every other byte; sparse or binary files have NULs everywhere.
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > 0.4 * len(sample) / 2 and even < 0.05 * len(sample) / 2:
            return "utf-16-le", 0
        if even > 0.4 * len(sample) / 2 and odd < 0.05 * len(sample) / 2:
            return "utf-16-be", 0
    return "utf-8", 0


def read_log(stream: BinaryIO, size: int | None = None) -> tuple[str, list[str]]:
    """Decode a log from a binary stream without holding more than ``MAX_SCAN_BYTES`` of it.

    Seekable streams larger than the window are read as their first ``HEAD_BYTES`` and last
    ``MAX_SCAN_BYTES``; unseekable ones (stdin) are read in chunks keeping a rolling tail. Returns
    the text and notes on what was skipped.
    """
    head = stream.read(HEAD_BYTES)
    encoding, bom = _decoder_for(head)
    notes: list[str] = []
    if size is not None and size > HEAD_BYTES + MAX_SCAN_BYTES:
        stream.seek(size - MAX_SCAN_BYTES)
        tail = stream.read(MAX_SCAN_BYTES)
        notes.append(
            f"log of {size:,} bytes: read its first {HEAD_BYTES:,} and last {MAX_SCAN_BYTES:,} bytes"
        )
        skipped = True
    else:
        tail, skipped_bytes = b"", 0
        while chunk := stream.read(READ_CHUNK):
            tail += chunk
            if len(tail) > 2 * MAX_SCAN_BYTES:
                skipped_bytes += len(tail) - MAX_SCAN_BYTES
                tail = tail[-MAX_SCAN_BYTES:]
        skipped = skipped_bytes > 0
        if skipped:
            notes.append(
                f"long input: skipped {skipped_bytes:,} bytes between its first and last part"
            )
    text = _decode(head[bom:], encoding)
    if tail:
        if skipped:
            # Start the tail on a code unit boundary for UTF-16/32; a partial first line is harmless.
            unit = 4 if encoding.startswith("utf-32") else 2 if encoding.startswith("utf-16") else 1
            tail = tail[len(tail) % unit :]
            text += "\n" + _decode(tail, encoding)
        else:
            text = _decode(head[bom:] + tail, encoding)
    if encoding != "utf-8":
        notes.append(f"decoded as {encoding}")
    return text, notes


def _decode(data: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(data, final=True)


def diagnose_file(path: Path, context: DiagnosisContext | None = None) -> Diagnosis:
    """Classify a log file, streamed (see ``read_log``): binary noise or a 1 GB log never crash it."""
    with open(path, "rb") as stream:
        text, notes = read_log(stream, os.fstat(stream.fileno()).st_size)
    return diagnose_text(text, context, notes)


def diagnose_stream(stream: BinaryIO, context: DiagnosisContext | None = None) -> Diagnosis:
    """Classify a log read from a binary stream (stdin), keeping at most a bounded window of it."""
    text, notes = read_log(stream)
    return diagnose_text(text, context, notes)
