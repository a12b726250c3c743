"""A validation report split per (check, kind), as the Dagster asset checks show it, without Dagster."""

from __future__ import annotations

from pathlib import Path

from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.check import CheckDefaults
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.outcome_by_kind import outcomes_by_kind
from finsight_release.validate.runner import CheckResult, CheckStatus, ValidationReport
from tests.mini_platform import make_platform

COVERED = frozenset({ArtifactKind.AIRFLOW_DAGS, ArtifactKind.ENV_CONFIG})


class Covering(CheckDefaults):
    id = "demo.check"
    kinds = COVERED


def manifest(tmp_path: Path) -> ReleaseManifest:
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    built, _ = repo.build(make_platform(tmp_path / "p"), "alice")
    return built


def error_on(artifact: str) -> Finding:
    return Finding(check_id="demo.check", severity=Severity.ERROR, artifact=artifact, message="bad")


def report(status: CheckStatus, findings: list[Finding]) -> ValidationReport:
    result = CheckResult(check_id="demo.check", status=status, artifacts=[], findings=findings)
    return ValidationReport(results=[result])


def by_kind(
    tmp_path: Path, status: CheckStatus, findings: list[Finding]
) -> dict[ArtifactKind, bool]:
    outcomes = outcomes_by_kind(report(status, findings), manifest(tmp_path), [Covering()])
    return {o.kind: o.passed for o in outcomes}


def first(release: ReleaseManifest, kind: ArtifactKind) -> Artifact:
    return release.of_kind(kind)[0]


def test_a_finding_counts_only_on_its_artifacts_kind(tmp_path: Path) -> None:
    dags = first(manifest(tmp_path), ArtifactKind.AIRFLOW_DAGS).name
    assert by_kind(tmp_path, CheckStatus.RAN, [error_on(dags)]) == {
        ArtifactKind.AIRFLOW_DAGS: False,
        ArtifactKind.ENV_CONFIG: True,
    }


def test_a_whole_run_finding_or_a_crash_fails_every_kind_covered(tmp_path: Path) -> None:
    everywhere = {kind: False for kind in COVERED}
    assert by_kind(tmp_path, CheckStatus.RAN, [error_on("spark/*")]) == everywhere
    dags = first(manifest(tmp_path), ArtifactKind.AIRFLOW_DAGS).name
    assert by_kind(tmp_path, CheckStatus.CRASHED, [error_on(dags)]) == everywhere
