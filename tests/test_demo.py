"""The README's main job: the whole demo on the embedded defaults, and a broken dbt release restored."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from finsight_release.demo import REGRESSED_MART, copy_platform, run_demo
from finsight_release.envs.environment import Environment
from finsight_release.errors import PromotionFailedError
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.system import ReleaseSystem


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReleaseSystem:
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINSIGHT_ACTOR", "demo-test")
    return ReleaseSystem(load_settings(platform=REPO_ROOT))


def published_digest(system: ReleaseSystem, env: Environment) -> str:
    """The dbt project version the published layer serves (and a mart reads through it), once the
    background refresh a rollback started has ended."""
    system.warehouse_target.wait_for_refresh(env)
    with duckdb.connect(
        str(system.settings.warehouse_path / f"{env}.duckdb"), read_only=True
    ) as con:
        row = con.execute("select value from _finsight.published where key = 'digest'").fetchone()
        con.execute("select count(*) from analytics.fct_payments").fetchone()
    assert row
    return str(row[0])


@pytest.mark.slow
def test_demo_end_to_end(system: ReleaseSystem) -> None:
    import dagster as dg
    from dagster._core.storage.dagster_run import RunsFilter

    from finsight_release.assets.instance_recorder import InstanceRecorder
    from finsight_release.automation.in_process import InProcessPipeline, code_location_repository

    console = Console(file=io.StringIO(), width=200)
    dagster_home = system.settings.home / "dagster"
    repository = code_location_repository()
    recorders: list[InstanceRecorder] = []

    def observe(s: ReleaseSystem) -> None:
        recorders.append(InstanceRecorder(dagster_home, data_diffs=s.data_diffs))
        s.observers.append(recorders[0])

    steps = run_demo(
        system,
        console,
        observe=observe,
        driver=lambda s: InProcessPipeline.for_system(recorders[0].instance, s, repository),
    )
    names = [s.name for s in steps]
    assert names[0] == "build release v1" and names[-1] == "verify audit chain"
    assert "chain intact" in steps[-1].result
    v1, v2 = (p.release_id for p in system.board.history(Environment.DEV)[:2])
    assert v1 and v2 and v1 != v2
    # The dev sensor promoted v2 (validated for dev), the checks caught the regressed mart's
    # contract, the rollback sensor attributed it to v2's dbt change and rolled dev back to v1.
    assert [p.release_id for p in system.board.history(Environment.DEV)] == [v1, v2, v1]
    assert system.board.read(Environment.DEV)[0].release_id == v1
    assert system.board.read(Environment.PROD)[0].release_id == v1  # v2 never left dev
    dbt_v1 = system.repo.get(v1).artifact("dbt/project")
    assert dbt_v1 and published_digest(system, Environment.DEV) == dbt_v1.digest
    (attributed,) = system.audit.events(action="attribute")
    assert attributed["release_id"] == v2 and attributed["environment"] == "dev"
    assert attributed["details"]["check"] == f"{REGRESSED_MART}:soda_contract"
    path = attributed["details"]["path"]
    assert path == ["dev/dbt_models", REGRESSED_MART]  # traced in dev's partition
    checks = next(s for s in steps if s.name.startswith("post-deploy checks on v2 in dev"))
    assert f"contract analytics.{REGRESSED_MART} row_count" in checks.result
    promoted = next(s for s in steps if s.name == "sensor promote_dev_when_ready")
    assert f"{REGRESSED_MART}: rows" in promoted.result and "-> 0" in promoted.result  # the diff
    measured = next(s for s in steps if s.name == "failing check -> v1 live in dev")
    assert measured.span and 0 < measured.seconds < 30
    held = [s.result for s in steps if s.name.startswith("sensor promote_")][1:]
    assert any("unhealthy in dev" in r for r in held)  # v2 is not promoted again
    # The instance shows the sensors' runs, the failing check with the release it judged, and
    # prod's deployments on v1.
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert set(instance.get_dynamic_partitions("releases")) == {v1, v2}
        (promote_run,) = instance.get_runs(
            filters=RunsFilter(tags={"dagster/sensor_name": "promote_dev_when_ready"})
        )
        (rollback_run,) = instance.get_runs(
            filters=RunsFilter(tags={"dagster/sensor_name": "rollback_on_failed_checks"})
        )
        assert promote_run.is_success and rollback_run.is_success
        assert rollback_run.tags["finsight/attribution"] == " -> ".join(path)
        # The promote run judged v2: the contract failed, severity ERROR, with v2's release id.
        key = dg.AssetCheckKey(dg.AssetKey([REGRESSED_MART]), "soda_contract")
        (record,) = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [key]
        ).values()
        assert record.run_id == promote_run.run_id
        assert record.evaluation and not record.evaluation.passed
        assert record.evaluation.metadata["release_id"].value == v2
        assert record.evaluation.severity == dg.AssetCheckSeverity.ERROR
        deployed = instance.get_latest_materialization_event(dg.AssetKey(["dev", "dbt_models"]))
        assert deployed and deployed.asset_materialization
        assert deployed.asset_materialization.metadata["release_id"].value == v1  # rolled back
        key = dg.AssetCheckKey(dg.AssetKey(["release", "airflow_dags"]), "airflow_dagbag")
        checked = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])
        evaluation = checked[key].evaluation
        assert evaluation is not None and evaluation.passed


@pytest.mark.slow
def test_broken_dbt_release_is_restored(system: ReleaseSystem, tmp_path: Path) -> None:
    v1, _ = system.build(REPO_ROOT)
    system.deployer.promote(Environment.DEV, v1.release_id)
    tree = copy_platform(REPO_ROOT, tmp_path / "broken")
    model = tree / "dbt_project/models/staging/stg_payments__payments.sql"
    model.write_text(model.read_text().replace("select", "select no_such_column,", 1))
    v2, _ = system.build(tree)
    with pytest.raises(PromotionFailedError, match="rolled back to") as info:
        system.deployer.promote(Environment.DEV, v2.release_id)
    assert "stg_payments__payments" in str(info.value)  # the error names the model
    pointer = system.board.read(Environment.DEV)[0]
    assert pointer.release_id == v1.release_id and pointer.pending is None
    dbt_v1 = v1.artifact("dbt/project")
    assert dbt_v1 and published_digest(system, Environment.DEV) == dbt_v1.digest
    actions = [(e["action"], e["outcome"]) for e in system.audit.events(environment="dev")]
    assert ("fail", "failed") in actions
    # The release still live passes every check that judges it: 90 dbt tests, the Soda contracts
    # of every mart and key raw table, and each source's freshness SLA (as of the synthetic data).
    judgement = system.judge(Environment.DEV, now=datetime(2024, 12, 31, 12))
    assert judgement.healthy, judgement.summary()
    assert {r.release_id for r in judgement.results} == {v1.release_id}
    contracts = {r.asset for r in judgement.results if r.kind == "contract"}
    assert len(contracts) == 21 and "analytics.fct_payments" in contracts
