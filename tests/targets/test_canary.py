"""Canary deploys on the running Airflow (``airflow_world``): the chosen changed DAGs go live first and
must pass a smoke run; the rest follows only then; a failure returns Airflow to the previous bundle."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from finsight_release.cli import main
from finsight_release.envs.environment import Environment
from finsight_release.errors import PromotionFailedError
from tests.targets.airflow_world import STEADY, AirflowWorld

DEV = Environment.DEV
DAGS = "airflow/dags"
STEADY_V2 = STEADY + "# changed by the canary test\n"
FAILING = (
    '"""Airflow DAG smoke_ok whose task fails."""\n'
    "import pendulum\n"
    "from airflow import DAG\n"
    "from airflow.operators.python import PythonOperator\n"
    "def fail():\n"
    "    raise RuntimeError('canary says no')\n"
    "with DAG('smoke_ok', start_date=pendulum.datetime(2024, 1, 1, tz='UTC'), schedule=None,\n"
    "         tags=['critical']):\n"
    "    PythonOperator(task_id='check', python_callable=fail, retries=0)\n"
)


def steady_source(world: AirflowWorld) -> str:
    return world.api.dag_source(world.api.dag("steady")["file_token"])


@pytest.fixture
def canary_target(airflow_world: AirflowWorld):  # type: ignore[no-untyped-def]
    target, deployer = airflow_world.target_for(airflow_world.airflow.endpoint)
    target.canary_dags = ("smoke_ok",)
    yield target, deployer
    airflow_world.deployer.promote(DEV, airflow_world.release().release_id)  # steady back to base


def test_the_canary_goes_first_then_the_rest(airflow_world: AirflowWorld, canary_target) -> None:  # type: ignore[no-untyped-def]
    world, (target, deployer) = airflow_world, canary_target
    release = world.release({"steady.py": STEADY_V2})
    record = deployer.promote(DEV, release.release_id)
    assert record.state == "live"
    canary, rest = target.canary_switch, target.last_switch
    assert canary is not None and rest is not None
    assert canary.dag_files == ["smoke_ok.py"] and [s.dag_id for s in canary.smoke if s.ok] == [
        "smoke_ok"
    ]
    assert rest.dag_files == ["steady.py"]  # the canary's file was already live
    assert target.live_digest(DEV, DAGS) == release.artifact(DAGS).digest  # type: ignore[union-attr]
    assert steady_source(world) == STEADY_V2


def test_a_failing_canary_stops_the_rollout(airflow_world: AirflowWorld, canary_target) -> None:  # type: ignore[no-untyped-def]
    world, (target, deployer) = airflow_world, canary_target
    before = target.live_digest(DEV, DAGS)
    release = world.release({"smoke_ok.py": FAILING, "steady.py": STEADY_V2})
    with pytest.raises(
        PromotionFailedError, match=r"airflow.smoke: smoke_ok run .* failed: task check failed"
    ) as caught:
        deployer.promote(DEV, release.release_id)
    assert "canary says no" in str(caught.value)
    assert target.live_digest(DEV, DAGS) == before  # one consistent version: the previous one
    assert steady_source(world) == STEADY  # the rest never went live
    world.wait_no_import_errors()


def test_canary_without_an_airflow_api_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["promote", "dev", "r-0000000000000000", "--canary", "smoke_ok"],
        env={"FINSIGHT_HOME": str(tmp_path), "FINSIGHT_AIRFLOW_API_DEV": ""},
    )
    assert result.exit_code == 1
    assert "--canary needs the Airflow API of dev (set FINSIGHT_AIRFLOW_API_DEV)" in result.output
