"""Smoke runs and the 10-minute start SLA, measured on the running Airflow (``airflow_world``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from finsight_release.envs.environment import Environment
from finsight_release.errors import PromotionFailedError
from finsight_release.targets.airflow_start import (
    START_SLA_S,
    StartCheck,
    critical_dags,
    measure_starts,
)
from finsight_release.targets.self_managed import AirflowDeployPolicy
from tests.targets.airflow_world import POLICY, AirflowWorld

DEV = Environment.DEV
DAGS = "airflow/dags"

NEEDS_CONNECTION = (
    '"""Airflow DAG needs_conn: its task reads a connection nobody defined."""\n'
    "import pendulum\n"
    "from airflow import DAG\n"
    "from airflow.hooks.base import BaseHook\n"
    "from airflow.operators.python import PythonOperator\n"
    "with DAG('needs_conn', start_date=pendulum.datetime(2024, 1, 1, tz='UTC'), schedule=None):\n"
    "    PythonOperator(task_id='read', retries=0,\n"
    "                   python_callable=lambda: BaseHook.get_connection('finsight_missing_conn'))\n"
)


def smoke_policy(*dag_ids: str) -> AirflowDeployPolicy:
    return AirflowDeployPolicy(
        inflight_wait_s=POLICY.inflight_wait_s,
        parse_timeout_s=POLICY.parse_timeout_s,
        poll_s=POLICY.poll_s,
        smoke_dags=dag_ids,
        smoke_start_s=120,
        smoke_finish_s=120,
    )


def test_a_changed_dag_passes_its_smoke_run(airflow_world: AirflowWorld) -> None:
    world = airflow_world
    target, deployer = world.target_for(world.airflow.endpoint, smoke_policy("smoke_ok"))
    record = deployer.promote(DEV, world.release().release_id)
    assert record.state == "live"
    assert target.last_switch is not None
    [smoke] = target.last_switch.smoke
    assert smoke.ok and smoke.state == "success" and smoke.run_id
    assert smoke.started_s is not None and 0 <= smoke.started_s < START_SLA_S


def test_a_missing_connection_fails_the_smoke_run_and_is_rolled_back(
    airflow_world: AirflowWorld,
) -> None:
    """Broken on purpose: the DAG imports fine (no import error) but its task needs a connection the
    running Airflow does not have; the smoke run fails, the deploy is rolled back and audited."""
    world = airflow_world
    _, deployer = world.target_for(world.airflow.endpoint, smoke_policy("needs_conn"))
    pointer = deployer.board.read(DEV)[0]
    digest = world.target.live_digest(DEV, DAGS)
    broken = world.release({"needs_conn.py": NEEDS_CONNECTION})
    with pytest.raises(
        PromotionFailedError, match=r"airflow.smoke: needs_conn run .* failed"
    ) as caught:
        deployer.promote(DEV, broken.release_id)
    assert "finsight_missing_conn" in str(caught.value)
    after = deployer.board.read(DEV)[0]
    assert after.release_id == pointer.release_id and after.pending is None
    assert world.target.live_digest(DEV, DAGS) == digest
    failed = world.audit.events(release_id=broken.release_id, action="fail")
    assert failed and "airflow.smoke" in failed[-1]["details"]["error"]


def test_start_sla_is_measured_per_critical_dag(airflow_world: AirflowWorld) -> None:
    api = airflow_world.api
    assert "smoke_ok" in critical_dags(api) and "steady" not in critical_dags(api)
    api.set_paused("smoke_ok", True)
    deployed_at = datetime.now(UTC)
    results = measure_starts(
        api,
        [StartCheck("smoke_ok"), StartCheck("steady", mode="next_run")],
        deployed_at,
        finish_timeout_s=120,
        poll_s=0.25,
    )
    by_dag = {r.dag_id: r for r in results}
    assert by_dag["smoke_ok"].ok and by_dag["smoke_ok"].state == "success"
    assert by_dag["smoke_ok"].started_s is not None and by_dag["smoke_ok"].started_s < START_SLA_S
    assert api.dag("smoke_ok")["is_paused"]  # paused again after its smoke run
    steady = by_dag["steady"]  # schedule=None: no next run can prove the SLA
    assert not steady.ok and "use a smoke run" in steady.detail
