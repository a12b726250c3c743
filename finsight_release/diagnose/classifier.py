"""Failure diagnosis: classify error output to its root-cause class, not the wrapper around it.

How a text is scored:

1. Pre-filter. Every rule has literal anchors (``patterns.anchors_of``); only lines holding one are
   looked at (one ``str.find`` per anchor over the lowercased text), and on such a line only the
   rules whose anchor it holds run their regex. At most
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
   adds a prior worth about one specific line.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from finsight_release.diagnose.categories import INFO, Category, runbook_link
from finsight_release.diagnose.patterns import KEYWORDS, RULES, STEP_PRIORS, Rule

MAX_EVIDENCE = 5
MAX_SCORED_LINES = 20_000
MAX_LINE_CHARS = 4_000
CONTEXT_PRIOR = 6.0
SHARED_LINE_FACTOR = 0.5

_EXCEPTION_LINE = re.compile(r"^\s*(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Failure|Failed)\b\s*[:(]")
_CHAIN_MARKER = re.compile(
    r"The above exception was the direct cause|During handling of the above exception", re.IGNORECASE
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
    """Indexes of lines holding any keyword, and all lines.

    ``str.find`` over the whole lowercased text once per keyword is far cheaper than running the rules
    on every line of a large log.
    """
    lower = text.lower()
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    found: set[int] = set()
    for keyword in KEYWORDS:
        at = lower.find(keyword)
        while at != -1:
            line = bisect.bisect_right(starts, at) - 1
            found.add(line)
            at = lower.find(keyword, starts[line + 1] if line + 1 < len(starts) else len(lower))
    return sorted(found), text.splitlines()


def unwrap_factors(text: str, lines: list[str], indexes: list[int]) -> dict[int, float]:
    """Extra weight for the lines that name a traceback's exception: the root cause sits there.

    In a chained traceback the first exception is the innermost cause, so exceptions printed before
    the first chain marker weigh 2.5x and those after it (the wrappers) 1.5x; otherwise 2x.
    """
    chained = _CHAIN_MARKER.search(text)
    marker = text.count("\n", 0, chained.start()) if chained else None
    factors: dict[int, float] = {}
    for index in indexes:
        if _EXCEPTION_LINE.match(lines[index]):
            if marker is None:
                factors[index] = 2.0
            else:
                factors[index] = 2.5 if index < marker else 1.5
    return factors


def line_hits(line: str) -> dict[Category, Rule]:
    """The most specific rule of each class that matches this line.

    A rule's regex only runs when one of its anchors occurs in the line, which is what makes scoring
    thousands of candidate lines cheap.
    """
    lower = line.lower()
    best: dict[Category, Rule] = {}
    for rule in RULES:
        if rule.weight <= getattr(best.get(rule.category), "weight", 0.0):
            continue
        if any(anchor in lower for anchor in rule.anchors) and rule.pattern.search(line):
            best[rule.category] = rule
    return best


def score_lines(text: str) -> tuple[dict[Category, float], list[_Hit]]:
    """Per-class scores and the scored lines behind them."""
    indexes, lines = candidate_lines(text)
    indexes = [i for i in indexes if i < len(lines) and len(lines[i]) <= MAX_LINE_CHARS][-MAX_SCORED_LINES:]
    matches = {i: m for i in indexes if (m := line_hits(lines[i]))}
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


def confidence_of(ranked: list[tuple[Category, float]]) -> float:
    """Share of the winner against the runner-up, damped when the total evidence is thin."""
    if not ranked:
        return 0.05
    top = ranked[0][1]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    margin = top / (top + runner_up) if top + runner_up else 0.0
    strength = 1.0 - math.exp(-top / 8.0)
    return round(min(0.99, max(0.05, margin * strength)), 3)


def evidence_lines(hits: list[_Hit], category: Category) -> list[str]:
    """The up to five strongest, distinct, redacted lines behind the winning class."""
    chosen: list[str] = []
    for hit in sorted((h for h in hits if h.category == category), key=lambda h: h.value, reverse=True):
        line = redact(hit.line)[:300]
        if line not in chosen:
            chosen.append(line)
        if len(chosen) == MAX_EVIDENCE:
            break
    return chosen


def diagnose_text(text: str, context: DiagnosisContext | None = None) -> Diagnosis:
    """Classify failure output (a log, a traceback, a tool's stderr) to one root-cause class.

    Args:
        text: the error output; any size (large logs are pre-filtered, see the module docstring).
        context: optional hints (failed step, drift/schema findings, credential probe, failed checks).

    Returns:
        A frozen ``Diagnosis``; with no evidence at all the class is ``ci_pipeline`` at confidence 0.05
        and the next steps say so.

    Examples:
        >>> diagnose_text("Broken DAG: [/dags/a.py] No module named 'pandas_gbq'").category.value
        'dependency_conflict'
    """
    scores, hits = score_lines(text)
    apply_context(scores, context)
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    category = ranked[0][0] if ranked else Category.CI_PIPELINE
    info = INFO[category]
    next_steps = [info.first_step, info.confirm, f"Runbook: {runbook_link(category)}"]
    if not ranked:
        next_steps.insert(0, "No known error pattern found; read the end of the log and the failed step's output.")
    return Diagnosis(
        category=category,
        confidence=confidence_of(ranked),
        evidence=evidence_lines(hits, category),
        layer=info.layer,
        next_steps=next_steps,
        rollback_recommended=info.rollback_recommended,
        scores={str(c): round(v, 2) for c, v in ranked},
    )


def diagnose_file(path: Path, context: DiagnosisContext | None = None) -> Diagnosis:
    """Classify a log file (read as UTF-8 with replacement, so binary noise never crashes it)."""
    return diagnose_text(Path(path).read_text(encoding="utf-8", errors="replace"), context)
