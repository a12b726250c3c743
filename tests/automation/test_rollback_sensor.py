"""A blocking check failing downstream of a live change rolls that environment back; others alert."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import rollback_job
from finsight_release.automation.rollback_sensor import rollback_on_failed_checks
from finsight_release.envs.environment import Environment
from tests.mini_platform import make_platform

DEV = Environment.DEV


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[ReleaseSystemResource, str, str]:
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    resource = ReleaseSystemResource(home=str(tmp_path / "home"))
    system = resource.system()
    v1, _ = system.build(make_platform(tmp_path / "v1", without="dbt_project"))
    v2_tree = make_platform(
        tmp_path / "v2",
        {"release_assets/airflow/dags/ingest_core.py": "# v2\n"},
        without="dbt_project",
    )
    v2, _ = system.build(v2_tree)
    system.deployer.promote(DEV, v1.release_id)
    system.deployer.promote(DEV, v2.release_id)  # v2 changed only the DAG bundle
    return resource, v1.release_id, v2.release_id


def fail_check(instance: dg.DagsterInstance, asset: list[str], name: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(asset),
            check_name=name,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
        )
    )


def tick(
    instance: dg.DagsterInstance, resource: ReleaseSystemResource, cursor: str | None
) -> dg.SensorResult:
    from finsight_release.definitions import defs

    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"release_system": resource},
        repository_def=defs.get_repository_def(),
    )
    return rollback_on_failed_checks.evaluate_tick(context)


def test_attributed_failure_rolls_back_and_unattributed_alerts(
    world: tuple[ReleaseSystemResource, str, str],
) -> None:
    resource, v1, v2 = world
    system = resource.system()
    instance = dg.DagsterInstance.ephemeral()
    fail_check(instance, ["dev", "env_config"], "credentials_fresh")  # v2 did not touch the config
    quiet = tick(instance, resource, None)
    assert not quiet.run_requests
    (alert,) = system.audit.events(action="alert")
    assert alert["details"]["check"] == "dev/env_config:credentials_fresh"

    fail_check(instance, ["dev", "airflow_dags"], "runs_newest_passed_release")
    acted = tick(instance, resource, quiet.cursor)
    (request,) = acted.run_requests
    assert request.run_config["ops"]["rollback_op"]["config"] == {"env": "dev", "to_release": v1}
    assert request.tags["finsight/attribution"] == "dev/airflow_dags"
    (attributed,) = system.audit.events(action="attribute")
    assert attributed["release_id"] == v2 and attributed["details"]["path"] == ["dev/airflow_dags"]
    health = system.deployer.ledger.health(DEV, v2)
    assert health is not None and not health.healthy

    assert not tick(instance, resource, acted.cursor).run_requests  # each failure is judged once
    rollback_job.execute_in_process(
        run_config=request.run_config,
        resources={"release_system": resource},
        tags=request.tags,
        instance=instance,
    )
    assert system.board.read(DEV)[0].release_id == v1
