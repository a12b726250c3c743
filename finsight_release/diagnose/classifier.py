"""Failure diagnosis: classify error output to its root-cause layer, not the wrapper around it.

Scoring: every line that matches a pattern adds the pattern's weight to its class, scaled up towards
the end of the log (the innermost exception of a Python traceback and the final error of a tool run
come last). Wrapper lines ("Broken DAG", "Task failed", "dbt run failed") weigh little, so the cause
they wrap decides. Context (which step failed, drift or schema findings, a failed credential probe,
failing checks) adds a prior. Only lines holding one of the patterns' literal keywords are scored, which
keeps a 10 MB log under two seconds.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from finsight_release.diagnose.categories import INFO, Category, runbook_link
from finsight_release.diagnose.patterns import KEYWORDS, PATTERNS, STEP_PRIORS

_SECRET = re.compile(
    r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key)\s*[=:]\s*)\S+|(AKIA|ASIA)[A-Z0-9]{16}|"
    r"(eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{5,})|(gh[pousr]_[A-Za-z0-9]{20,})"
)
MAX_EVIDENCE = 5


@dataclass(frozen=True)
class DiagnosisContext:
    """What is known besides the text: the failed step and findings of other detectors."""

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


def redact(line: str) -> str:
    """Mask credential-looking values so evidence never carries a secret."""
    return _SECRET.sub(lambda m: (m.group(1) or "") + "****", line)


def candidate_lines(text: str) -> tuple[list[int], list[str]]:
    """Indexes of lines holding any keyword, and all lines: ``str.find`` over the whole lowercased text
    once per keyword is far cheaper than running every pattern on every line of a large log."""
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


def score_lines(text: str) -> tuple[dict[Category, float], dict[Category, list[tuple[float, str]]]]:
    """Per-class scores and the scored lines behind them."""
    scores: dict[Category, float] = {}
    hits: dict[Category, list[tuple[float, str]]] = {}
    indexes, lines = candidate_lines(text)
    total = max(len(lines), 1)
    for index in indexes:
        line = lines[index] if index < len(lines) else ""
        if len(line) > 4000:
            continue
        position = 1.0 + index / total  # later lines weigh up to twice as much
        for pattern, category, weight in PATTERNS:
            if pattern.search(line):
                value = weight * position
                scores[category] = scores.get(category, 0.0) + value
                hits.setdefault(category, []).append((value, line.strip()))
    return scores, hits


def apply_context(scores: dict[Category, float], context: DiagnosisContext | None) -> None:
    """Shift scores by what other detectors already know."""
    if context is None:
        return
    if context.failed_step:
        for prefix, category in STEP_PRIORS:
            if context.failed_step.startswith(prefix):
                scores[category] = scores.get(category, 0.0) + 4.0
                break
    for flag, category in (
        (context.drift_found, Category.INFRA_DRIFT),
        (context.schema_diff, Category.SCHEMA_CHANGE),
        (context.credential_probe_failed, Category.BAD_CREDENTIALS),
        (bool(context.failed_checks), Category.DATA_QUALITY),
    ):
        if flag:
            scores[category] = scores.get(category, 0.0) + 3.0


def diagnose_text(text: str, context: DiagnosisContext | None = None) -> Diagnosis:
    """Classify failure output (a log, a traceback, a tool's stderr) to one root-cause class."""
    scores, hits = score_lines(text)
    apply_context(scores, context)
    if not scores:
        category, confidence = Category.CI_PIPELINE, 0.1
    else:
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        category = ranked[0][0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = round(min(0.99, ranked[0][1] / (ranked[0][1] + runner_up + 2.0)), 3)
    best = sorted(hits.get(category, []), key=lambda hit: hit[0], reverse=True)[:MAX_EVIDENCE]
    info = INFO[category]
    return Diagnosis(
        category=category,
        confidence=confidence,
        evidence=[redact(line)[:500] for _, line in best],
        layer=info.layer,
        next_steps=[info.first_step, f"Runbook: {runbook_link(category)}"],
        rollback_recommended=info.rollback_recommended,
        scores={str(k): round(v, 2) for k, v in sorted(scores.items(), key=lambda kv: -kv[1])},
    )


def diagnose_file(path: Path, context: DiagnosisContext | None = None) -> Diagnosis:
    """Classify a log file (read as UTF-8 with replacement, so binary noise never crashes it)."""
    return diagnose_text(path.read_text(encoding="utf-8", errors="replace"), context)
