"""The README's main job: the whole demo on the embedded defaults, and a broken dbt release restored."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from finsight_release.demo import V2_DAG_FILE, copy_platform, run_demo
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
    from finsight_release.assets.instance_recorder import InstanceRecorder

    console = Console(file=io.StringIO(), width=200)
    dagster_home = system.settings.home / "dagster"
    steps = run_demo(
        system, console, observe=lambda s: s.observers.append(InstanceRecorder(dagster_home))
    )
    names = [s.name for s in steps]
    assert names[0] == "build release v1" and names[-2] == "roll prod back to v1"
    prod = system.board.read(Environment.PROD)[0]
    history = [p.release_id for p in system.board.history(Environment.PROD)]
    v1, v2 = history[0], history[1]
    assert prod.release_id == v1 and history == [v1, v2, v1]
    dbt_v1 = system.repo.get(v1).artifact("dbt/project")
    assert dbt_v1 and published_digest(system, Environment.PROD) == dbt_v1.digest
    dag = system.airflow_dags_folder(Environment.PROD) / V2_DAG_FILE.removeprefix(
        "release_assets/airflow/dags/"
    )
    assert dag.read_text() == (REPO_ROOT / V2_DAG_FILE).read_text()
    rollback = next(s for s in steps if s.name == "roll prod back to v1")
    assert rollback.seconds < 5  # a pointer move and view swap, never a dbt rebuild
    assert "chain intact" in steps[-1].result
    # The UI sees what the demo did: release partitions, each environment's deployments, the checks.
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert set(instance.get_dynamic_partitions("releases")) == {v1, v2}
        deployed = instance.get_latest_materialization_event(dg.AssetKey(["prod", "dbt_models"]))
        assert deployed and deployed.asset_materialization
        assert (
            deployed.asset_materialization.metadata["release_id"].value == v1
        )  # after the rollback
        key = dg.AssetCheckKey(dg.AssetKey(["release", "airflow_dags"]), "airflow_dagbag")
        checked = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])
        assert key in checked and checked[key].evaluation and checked[key].evaluation.passed


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
