"""What the CLI does is recorded in the Dagster instance at DAGSTER_HOME, so the UI shows it too."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from finsight_release.assets.instance_recorder import InstanceRecorder
from finsight_release.cli import main
from finsight_release.envs.environment import Environment
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.record import record_verdict
from finsight_release.validate.runner import CheckResult, CheckStatus, ValidationReport
from tests.mini_platform import make_platform


def test_cli_build_and_promote_are_materializations_in_the_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dagster_home = tmp_path / "dagster"
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINSIGHT_ACTOR", "alice")
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    cli = CliRunner()
    built = cli.invoke(
        main, ["build", "--platform", str(make_platform(tmp_path / "p", without="dbt_project"))]
    )
    assert built.exit_code == 0, built.output
    release_id = next(w for w in built.output.split() if w.startswith("r-"))
    assert cli.invoke(main, ["promote", "dev", release_id]).exit_code == 0
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert release_id in instance.get_dynamic_partitions("releases")
        released = instance.get_latest_materialization_event(
            dg.AssetKey(["release", "airflow_dags"])
        )
        assert released and released.asset_materialization
        assert released.asset_materialization.partition == release_id
        deployed = instance.get_latest_materialization_event(dg.AssetKey(["dev", "airflow_dags"]))
        assert deployed and deployed.asset_materialization
        metadata = deployed.asset_materialization.metadata
        assert metadata["release_id"].value == release_id and metadata["actor"].value == "alice"
        # the environment's DORA week, as promote_job puts it: the UI plots CLI deployments too
        assert metadata["dora/DeploymentFrequency"].value == 1.0 and "dora/week" in metadata


def test_a_validation_is_reported_as_check_results_per_kind(tmp_path: Path) -> None:
    from finsight_release.release.repository import ReleaseRepository
    from finsight_release.store.local import LocalObjectStore

    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    manifest: ReleaseManifest
    manifest, _ = repo.build(make_platform(tmp_path / "p", without="dbt_project"), "alice")
    dags = manifest.of_kind(next(a.kind for a in manifest.artifacts if a.name == "airflow/dags"))[0]
    bad = Finding(
        check_id="airflow.dagbag", severity=Severity.ERROR, artifact=dags.name, message="x"
    )
    report = ValidationReport(
        results=[
            CheckResult(
                check_id="airflow.dagbag", status=CheckStatus.RAN, artifacts=[], findings=[bad]
            )
        ]
    )
    verdict = record_verdict(repo.store, manifest.release_id, Environment.PROD, report)
    recorder = InstanceRecorder(tmp_path / "dagster")
    recorder.validated(Environment.PROD, manifest, report, verdict)
    key = dg.AssetCheckKey(dg.AssetKey(["release", "airflow_dags"]), "airflow_dagbag")
    records = recorder.instance.event_log_storage.get_latest_asset_check_execution_by_key([key])
    evaluation = records[key].evaluation
    assert evaluation is not None and not evaluation.passed
    assert evaluation.metadata["release_id"].value == manifest.release_id
