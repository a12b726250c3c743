"""The validation runner: kind and change selection, caching by digest, crash isolation, timings."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from finsight_release.release.artifact import Artifact, ArtifactKind, build_artifact
from finsight_release.release.layout import discover
from finsight_release.validate.cache import ResultCache
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.runner import (
    CheckProgress,
    CheckStatus,
    ValidationReport,
    run_validation,
)
from tests.mini_platform import make_platform


class RecordingCheck(CheckDefaults):
    """Reports one finding per artifact and records which artifacts it was asked about."""

    def __init__(
        self, check_id: str, kinds: set[ArtifactKind], severity: Severity = Severity.WARNING
    ) -> None:
        self.id = check_id
        self.kinds = frozenset(kinds)
        self.severity = severity
        self.calls: list[list[str]] = []

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        self.calls.append([a.name for a in artifacts])
        return [
            Finding(
                check_id=self.id,
                severity=self.severity,
                artifact=a.name,
                message=f"saw {a.short_digest}",
            )
            for a in artifacts
        ]


class CrashingCheck(CheckDefaults):
    id = "demo.crash"
    kinds = frozenset(ArtifactKind)

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        raise ValueError("boom\nsecond line of a long explanation")


class SlowCheck(RecordingCheck):
    def __init__(self, check_id: str, barrier: threading.Barrier) -> None:
        super().__init__(check_id, {ArtifactKind.ENV_CONFIG})
        self.barrier = barrier

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        self.barrier.wait(timeout=5)  # both checks must be running at once to pass the barrier
        return super().run(ctx, artifacts)


def _artifacts(platform: Path) -> list[Artifact]:
    return [
        build_artifact(s.kind, s.name, s.root, platform, s.metadata) for s in discover(platform)
    ]


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    return make_platform(tmp_path / "platform")


def test_checks_see_only_their_kinds_and_changed_artifacts(platform: Path) -> None:
    config = RecordingCheck("demo.config", {ArtifactKind.ENV_CONFIG})
    dags = RecordingCheck("demo.dags", {ArtifactKind.AIRFLOW_DAGS})
    ctx = ValidationContext(platform=platform)
    report = run_validation(ctx, _artifacts(platform), [config, dags], changed={"config/prod"})
    assert config.calls == [["config/prod"]]
    assert dags.calls == []
    statuses = {r.check_id: r.status for r in report.results}
    assert statuses == {"demo.config": CheckStatus.RAN, "demo.dags": CheckStatus.SKIPPED}
    everything = run_validation(ctx, _artifacts(platform), [config], changed=None)
    assert config.calls[-1] == ["config/dev", "config/prod"]
    assert everything.counts == {"error": 0, "warning": 2, "info": 0}


def test_results_are_cached_by_digest_and_env(platform: Path, tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "validate-cache")
    check = RecordingCheck("demo.config", {ArtifactKind.ENV_CONFIG})
    ctx = ValidationContext(platform=platform, env="dev")
    first = run_validation(ctx, _artifacts(platform), [check], cache=cache)
    second = run_validation(ctx, _artifacts(platform), [check], cache=cache)
    assert check.calls == [["config/dev", "config/prod"]]
    assert second.results[0].status is CheckStatus.CACHED
    assert second.findings == first.findings
    # A changed artifact re-runs only that artifact; the other comes from the cache.
    (platform / "release_assets/config/prod.yaml").write_text("environment: prod\nchanged: true\n")
    third = run_validation(ctx, _artifacts(platform), [check], cache=cache)
    assert check.calls[-1] == ["config/prod"]
    assert third.results[0].cached_artifacts == ["config/dev"]
    assert len(third.findings) == 2
    # Another environment is another key.
    run_validation(
        ValidationContext(platform=platform, env="prod"), _artifacts(platform), [check], cache=cache
    )
    assert check.calls[-1] == ["config/dev", "config/prod"]


def test_uncacheable_checks_always_run(platform: Path, tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "c")
    check = RecordingCheck("demo.live", {ArtifactKind.ENV_CONFIG})
    check.cacheable = False  # type: ignore[attr-defined]
    ctx = ValidationContext(platform=platform)
    run_validation(ctx, _artifacts(platform), [check], cache=cache)
    run_validation(ctx, _artifacts(platform), [check], cache=cache)
    assert len(check.calls) == 2


def test_corrupt_cache_entry_is_a_miss(platform: Path, tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "c")
    check = RecordingCheck("demo.config", {ArtifactKind.ENV_CONFIG})
    ctx = ValidationContext(platform=platform)
    run_validation(ctx, _artifacts(platform), [check], cache=cache)
    for entry in (tmp_path / "c").glob("*/*.json"):
        entry.write_text("{not json")
    run_validation(ctx, _artifacts(platform), [check], cache=cache)
    assert len(check.calls) == 2


def test_a_crashing_check_is_one_error_and_others_still_run(platform: Path, tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "c")
    other = RecordingCheck("demo.config", {ArtifactKind.ENV_CONFIG}, Severity.INFO)
    report = run_validation(
        ValidationContext(platform=platform),
        _artifacts(platform),
        [CrashingCheck(), other],
        cache=cache,
    )
    crash = [f for f in report.findings if f.check_id == "internal.demo.crash"]
    assert len(crash) == 1 and crash[0].severity is Severity.ERROR
    assert (
        crash[0].message
        == "check demo.crash crashed: ValueError: boom second line of a long explanation"
    )
    assert "\n" not in crash[0].message and "Traceback" not in crash[0].message
    assert other.calls and not report.passed
    assert report.results[0].status is CheckStatus.CRASHED
    # A crash is never cached: the next run tries again.
    again = run_validation(
        ValidationContext(platform=platform), _artifacts(platform), [CrashingCheck()], cache=cache
    )
    assert again.results[0].status is CheckStatus.CRASHED


def test_independent_checks_run_in_parallel_and_timings_are_recorded(platform: Path) -> None:
    barrier = threading.Barrier(2)
    checks = [SlowCheck("demo.a", barrier), SlowCheck("demo.b", barrier)]
    events: list[CheckProgress] = []
    report = run_validation(
        ValidationContext(platform=platform, workers=2),
        _artifacts(platform),
        checks,
        progress=events.append,
    )
    assert all(c.calls for c in checks)
    assert [t.check_id for t in report.timings] == ["demo.a", "demo.b"]
    assert all(t.seconds >= 0 for t in report.timings)
    assert sorted(e.state for e in events) == ["ran", "ran", "started", "started"]


def test_parallel_unsafe_checks_run_alone(platform: Path) -> None:
    active, peak = [0], [0]
    lock = threading.Lock()

    class Exclusive(RecordingCheck):
        parallel_safe = False

        def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1
            return super().run(ctx, artifacts)

    checks = [Exclusive(f"demo.{i}", {ArtifactKind.ENV_CONFIG}) for i in range(3)]
    run_validation(ValidationContext(platform=platform, workers=4), _artifacts(platform), checks)
    assert peak[0] == 1


def test_report_round_trips_through_json(platform: Path) -> None:
    check = RecordingCheck("demo.config", {ArtifactKind.ENV_CONFIG}, Severity.ERROR)
    report = run_validation(
        ValidationContext(platform=platform, env="dev"), _artifacts(platform), [check]
    )
    data = report.model_dump(mode="json")
    assert data["passed"] is False and data["counts"]["error"] == 2 and len(data["findings"]) == 2
    assert ValidationReport.model_validate_json(report.model_dump_json()) == report
