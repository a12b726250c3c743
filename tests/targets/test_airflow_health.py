"""Post-deploy Airflow health read from the running Airflow (``airflow_world``), and the system's
verdict: audited, and an unhealthy reading marks the live release unhealthy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsight_release.cli import main
from finsight_release.envs.environment import Environment
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from finsight_release.targets.airflow_health import read_airflow_health
from tests.targets.airflow_world import AirflowWorld

DEV = Environment.DEV


def test_health_reads_import_errors_and_critical_last_runs(airflow_world: AirflowWorld) -> None:
    world, api = airflow_world, airflow_world.api
    world.wait_no_import_errors()
    run_id = "health-failed-run"
    api.trigger("smoke_ok", run_id)
    api.set_run_state("smoke_ok", run_id, "failed")  # the newest run of a critical DAG failed
    health = read_airflow_health(world.target, DEV, "r-x")
    assert health.configured and health.import_errors == []
    assert health.last_runs["smoke_ok"] == "failed" and health.failed_runs == ["smoke_ok"]
    assert not health.healthy and "last run failed: smoke_ok" in health.reason()
    assert health.as_dict()["release_id"] == "r-x"


def test_an_environment_without_an_airflow_api_is_not_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FINSIGHT_AIRFLOW_API_DEV", raising=False)
    system = ReleaseSystem(load_settings(home=tmp_path, require_validation=()))
    health = system.airflow_health(DEV)
    assert not health.configured and health.healthy
    assert system.audit.events(action="airflow_health") == []


def test_cli_reports_the_reading_and_exits_1_when_unhealthy(airflow_world: AirflowWorld) -> None:
    world, api = airflow_world, airflow_world.api
    api.trigger("smoke_ok", "health-cli-failed")
    api.set_run_state("smoke_ok", "health-cli-failed", "failed")
    env = {
        "FINSIGHT_HOME": str(world.root),
        "FINSIGHT_AIRFLOW_API_DEV": world.airflow.endpoint.url,
        "FINSIGHT_AIRFLOW_API_AUTH_DEV": "admin:admin",
    }
    result = CliRunner().invoke(main, ["airflow-health", "dev", "--json"], env=env)
    assert result.exit_code == 1, result.output
    reading = json.loads(result.output)
    assert reading["healthy"] is False and reading["last_runs"]["smoke_ok"] == "failed"
    unconfigured = CliRunner().invoke(
        main, ["airflow-health", "staging"], env={**env, "FINSIGHT_AIRFLOW_API_STAGING": ""}
    )
    assert unconfigured.exit_code == 1
    assert "staging has no Airflow API configured" in unconfigured.output
