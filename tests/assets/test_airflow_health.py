"""The post-deploy Airflow health asset checks (``airflow_health_job``) against the running Airflow."""

from __future__ import annotations

import dagster as dg
import pytest

from finsight_release.assets.airflow_view import airflow_instance, critical_last_runs
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.envs.environment import Environment
from finsight_release.targets.airflow_start import critical_dags
from tests.targets.airflow_world import AirflowWorld

DEV = Environment.DEV


def test_dagster_checks_report_and_mark_the_release_unhealthy(
    airflow_world: AirflowWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``airflow_health_job`` on the world's home (same store, targets and audit log): dev's checks
    read the running Airflow; a critical DAG whose last run failed fails its check, carries the
    release id, and the core marks dev's release unhealthy (audited)."""
    from finsight_release.definitions import defs

    world, api = airflow_world, airflow_world.api
    monkeypatch.setenv("FINSIGHT_AIRFLOW_API_DEV", world.airflow.endpoint.url)
    monkeypatch.setenv("FINSIGHT_AIRFLOW_API_AUTH_DEV", "admin:admin")
    api.trigger("smoke_ok", "health-dagster-failed")
    api.set_run_state("smoke_ok", "health-dagster-failed", "failed")
    release_id = world.deployer.board.read(DEV)[0].release_id
    result = defs.resolve_job_def("airflow_health_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        resources={"release_system": ReleaseSystemResource(home=str(world.root))},
        raise_on_error=False,
    )
    checks = {(e.asset_key.path[0], e.check_name): e for e in result.get_asset_check_evaluations()}
    assert checks[("dev", "airflow_import_errors")].passed
    last_runs = checks[("dev", "airflow_critical_last_runs")]
    assert not last_runs.passed and last_runs.metadata["release_id"].value == release_id
    assert last_runs.metadata["last_runs_observed_by"].value == "dagster-airlift"
    assert last_runs.metadata["last_runs"].value["smoke_ok"] == "failed"
    assert checks[
        ("dev", "airflow_critical_start_sla")
    ].passed  # the smoke run started and succeeded
    assert checks[("prod", "airflow_import_errors")].passed  # no API for prod: not configured
    health = world.audit.events(release_id=release_id, action="health")
    assert health and health[-1]["outcome"] == "unhealthy"
    assert "last run failed: smoke_ok" in health[-1]["details"]["reason"]


def test_dagster_airlift_sees_the_last_finished_run_of_each_critical_dag(
    airflow_world: AirflowWorld,
) -> None:
    """dagster-airlift's ``AirflowInstance`` (basic auth) against the running Airflow: the critical
    DAGs only, each with the state of its newest finished run."""
    world, api = airflow_world, airflow_world.api
    api.trigger("smoke_ok", "airlift-view-failed")
    api.set_run_state("smoke_ok", "airlift-view-failed", "failed")
    api.trigger("smoke_ok", "airlift-view-success")
    api.set_run_state("smoke_ok", "airlift-view-success", "success")
    view = critical_last_runs(airflow_instance(DEV, world.airflow.endpoint))
    assert view["smoke_ok"] == "success"  # the newer run
    assert "steady" not in view  # not tagged critical
    assert set(view) <= set(critical_dags(api))
