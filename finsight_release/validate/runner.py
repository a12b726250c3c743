"""Run pre-deploy checks over a release's artifacts: only what changed, cached by digest, crash-proof.

For each check the runner picks the artifacts of the check's kinds (all of them, or only the
``changed`` names), answers what it can from the :class:`ResultCache` (one entry per check x artifact,
keyed by the check's code, the artifact digest, the environment and the options), runs the check once
on the rest, and records its duration. A check that raises becomes one ERROR finding
``internal.<check id>`` with a one-line message; the other checks still run. Independent checks run
in a thread pool of ``ctx.workers`` threads (most checks wait on subprocesses or files).

Optional attributes a check may set beyond the :class:`Check` protocol:
    ``cacheable = False``      results depend on outside state (e.g. Secrets Manager): never cached.
    ``parallel_safe = False``  run alone, after the parallel ones.
    ``cache_inputs(ctx, artifact) -> str``  other inputs it reads (base release files, other artifacts)
        that must invalidate the cached result.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, computed_field, model_validator

from finsight_release.observe.logging import get_logger
from finsight_release.release.artifact import Artifact
from finsight_release.targets.data_diff import EnvironmentDiff
from finsight_release.validate.cache import ResultCache, cache_key
from finsight_release.validate.check import Check, ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.severity import apply_overrides, env_platform_config

INTERNAL_PREFIX = "internal."
MAX_CRASH_MESSAGE = 300
DERIVED_FIELDS = frozenset({"findings", "timings", "counts", "passed"})


class CheckStatus(StrEnum):
    """How a check's result was obtained: run, served from cache, crashed, or nothing to check."""

    RAN = "ran"
    CACHED = "cached"
    CRASHED = "crashed"
    SKIPPED = "skipped"


class CheckResult(BaseModel):
    """One check's outcome: the artifacts it covered, its findings, and how long it took."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check_id: str
    status: CheckStatus
    artifacts: list[str]
    cached_artifacts: list[str] = []
    findings: list[Finding] = []
    seconds: float = 0.0


class CheckTiming(BaseModel):
    """Duration of one check (0 when fully cached or skipped)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check_id: str
    seconds: float
    status: CheckStatus


class ValidationReport(BaseModel):
    """Everything one validation run found. ``passed`` is False when any finding is an ERROR."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str | None = None
    results: list[CheckResult]
    seconds: float = 0.0
    # The data diff of each changed mart, as measured where the release was prepared (attached by
    # ``ReleaseSystem.validate``; a diff over its thresholds blocked the release there already).
    data_diffs: list[EnvironmentDiff] = []

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: object) -> object:
        """Accept a report's own JSON back: derived fields are recomputed, not read."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in DERIVED_FIELDS}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def findings(self) -> list[Finding]:
        return [finding for result in self.results for finding in result.findings]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def timings(self) -> list[CheckTiming]:
        return [
            CheckTiming(check_id=r.check_id, seconds=r.seconds, status=r.status)
            for r in self.results
        ]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        counts = {severity.value: 0 for severity in Severity}
        for finding in self.findings:
            counts[finding.severity.value] += 1
        return counts

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        return not any(finding.severity.is_blocking for finding in self.findings)


@dataclass(frozen=True)
class CheckProgress:
    """A progress event: ``state`` is started, ran, cached, crashed or skipped."""

    check_id: str
    state: str
    artifacts: int
    seconds: float = 0.0
    findings: int = 0


ProgressCallback = Callable[[CheckProgress], None]

_code_digests: dict[str, str] = {}


def check_code_digest(check: Check) -> str:
    """sha256 of every module beside the check's class (the check and the helpers it imports), so editing
    any of them invalidates its cached results."""
    try:
        source_file = inspect.getsourcefile(type(check)) or ""
    except TypeError:
        return ""
    package = str(Path(source_file).parent) if source_file else ""
    if package not in _code_digests:
        h = hashlib.sha256()
        try:
            for path in sorted(Path(package).glob("*.py")):
                h.update(path.name.encode() + b"\0" + path.read_bytes())
            _code_digests[package] = h.hexdigest()
        except OSError:
            _code_digests[package] = ""
    return _code_digests[package]


def artifact_cache_key(check: Check, ctx: ValidationContext, artifact: Artifact) -> str:
    """The cache key of one check's result on one artifact in this context."""
    return cache_key(
        check.id,
        check_code_digest(check),
        artifact.kind.value,
        artifact.name,
        artifact.digest,
        ctx.env or "",
        json.dumps(ctx.options, sort_keys=True),
        check.cache_inputs(ctx, artifact),
    )


def crash_finding(check_id: str, artifacts: Sequence[Artifact], exc: BaseException) -> Finding:
    """The one-line ERROR finding that stands for a check that raised (the traceback goes to the log)."""
    detail = " ".join(str(exc).split()) or "(no message)"
    message = f"check {check_id} crashed: {type(exc).__name__}: {detail}"
    if len(message) > MAX_CRASH_MESSAGE:
        message = message[: MAX_CRASH_MESSAGE - 3] + "..."
    return Finding(
        check_id=f"{INTERNAL_PREFIX}{check_id}",
        severity=Severity.ERROR,
        artifact=", ".join(a.name for a in artifacts) or "-",
        message=message,
        hint="this is a bug in the check, not in the release; the traceback is in the debug log",
    )


def crashed(check: Check, artifacts: Sequence[Artifact], exc: BaseException) -> Finding:
    """Log the crash being handled (traceback at debug level) and return the finding that stands for it."""
    get_logger(__name__).debug(
        "check_crashed", check_id=check.id, exc_info=True
    )  # called in the except block
    return crash_finding(check.id, artifacts, exc)


def select_artifacts(
    check: Check, artifacts: Sequence[Artifact], changed: set[str] | None
) -> list[Artifact]:
    """Artifacts of the check's kinds, restricted to ``changed`` names when given."""
    return [
        a for a in artifacts if a.kind in check.kinds and (changed is None or a.name in changed)
    ]


def _run_one(
    check: Check,
    ctx: ValidationContext,
    selected: list[Artifact],
    cache: ResultCache | None,
    notify: ProgressCallback,
) -> CheckResult:
    if not selected:
        notify(CheckProgress(check.id, CheckStatus.SKIPPED.value, 0))
        return CheckResult(check_id=check.id, status=CheckStatus.SKIPPED, artifacts=[])
    use_cache = cache is not None and check.cacheable
    try:
        keys = {a.name: artifact_cache_key(check, ctx, a) for a in selected} if use_cache else {}
    except (
        Exception
    ) as exc:  # a check's cache_inputs is its code too: a crash there is the check's crash
        notify(CheckProgress(check.id, CheckStatus.CRASHED.value, len(selected), 0.0, 1))
        return CheckResult(
            check_id=check.id,
            status=CheckStatus.CRASHED,
            artifacts=[a.name for a in selected],
            findings=[crashed(check, selected, exc)],
        )
    cached: dict[str, list[Finding]] = {}
    if use_cache and cache is not None:
        for artifact in selected:
            hit = cache.get(keys[artifact.name])
            if hit is not None:
                cached[artifact.name] = hit
    to_run = [a for a in selected if a.name not in cached]
    names = [a.name for a in selected]
    cached_findings = [f for a in selected if a.name in cached for f in cached[a.name]]
    if not to_run:
        notify(
            CheckProgress(
                check.id, CheckStatus.CACHED.value, len(selected), 0.0, len(cached_findings)
            )
        )
        return CheckResult(
            check_id=check.id,
            status=CheckStatus.CACHED,
            artifacts=names,
            cached_artifacts=list(cached),
            findings=cached_findings,
        )
    notify(CheckProgress(check.id, "started", len(to_run)))
    start = time.perf_counter()
    try:
        findings = list(check.run(ctx, to_run))
        status = CheckStatus.RAN
    except Exception as exc:  # a broken check must never stop the others
        findings = [crashed(check, to_run, exc)]
        status = CheckStatus.CRASHED
    seconds = time.perf_counter() - start
    if status is CheckStatus.RAN and use_cache and cache is not None:
        _store(cache, keys, to_run, findings)
    notify(CheckProgress(check.id, status.value, len(to_run), seconds, len(findings)))
    return CheckResult(
        check_id=check.id,
        status=status,
        artifacts=names,
        cached_artifacts=list(cached),
        findings=cached_findings + findings,
        seconds=round(seconds, 4),
    )


def _store(
    cache: ResultCache, keys: dict[str, str], ran: list[Artifact], findings: list[Finding]
) -> None:
    """Split findings by artifact and cache each; a finding naming no run artifact disables caching."""
    by_artifact: dict[str, list[Finding]] = {a.name: [] for a in ran}
    for finding in findings:
        if finding.artifact not in by_artifact:
            return
        by_artifact[finding.artifact].append(finding)
    for name, items in by_artifact.items():
        cache.put(keys[name], items)


def run_validation(
    ctx: ValidationContext,
    artifacts: Sequence[Artifact],
    checks: Sequence[Check],
    changed: set[str] | None = None,
    cache: ResultCache | None = None,
    progress: ProgressCallback | None = None,
) -> ValidationReport:
    """Run ``checks`` over ``artifacts`` (only ``changed`` names when given) and collect a report.

    Args:
        ctx: what the checks may look at (platform tree, env, base release, workers, options).
        artifacts: the release's artifacts.
        checks: the checks to run; each sees only artifacts of its kinds.
        changed: names of changed artifacts, or None to validate all.
        cache: where results are cached by digest, or None for no caching.
        progress: called (possibly from worker threads, serialized by a lock) as checks start and end.

    Returns:
        A :class:`ValidationReport`; ``report.passed`` is False on any ERROR finding.

    Examples:
        >>> report = run_validation(ctx, release.artifacts, [SecretsScanCheck()], changed={"config/dev"})
    """
    lock = threading.Lock()

    def notify(event: CheckProgress) -> None:
        if progress is not None:
            with lock:
                progress(event)

    start = time.perf_counter()
    parallel = {i for i, c in enumerate(checks) if c.parallel_safe}
    results: dict[int, CheckResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, ctx.workers)) as pool:
        futures = {
            i: pool.submit(_run_one, c, ctx, select_artifacts(c, artifacts, changed), cache, notify)
            for i, c in enumerate(checks)
            if i in parallel
        }
        for i, future in futures.items():
            results[i] = future.result()
    for i, check in enumerate(checks):
        if i not in parallel:
            results[i] = _run_one(
                check, ctx, select_artifacts(check, artifacts, changed), cache, notify
            )
    config = env_platform_config(ctx)
    overrides = config.validation.severities if config else {}
    ordered = [
        results[i].model_copy(update={"findings": apply_overrides(results[i].findings, overrides)})
        for i in range(len(checks))
    ]
    return ValidationReport(
        env=ctx.env, results=ordered, seconds=round(time.perf_counter() - start, 4)
    )
