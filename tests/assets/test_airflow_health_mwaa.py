"""The Airflow health asset checks of an MWAA environment (AWS mode, staging's config says
``airflow.target: mwaa``): read through ``invoke_rest_api``; MWAA's bucket on moto's server, the MWAA
API through botocore's Stubber (no local server implements it), as in ``test_mwaa_system.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.airflow_health import airflow_health_check
from finsight_release.assets.releases import deployment_specs
from finsight_release.assets.resources import ReleaseSystemResource
from tests.targets.test_mwaa_system import STAGING, World, open_world


@pytest.fixture
def world(moto_server: str, tmp_path: Path) -> Iterator[World]:
    yield from open_world(tmp_path)


def test_dagster_checks_of_a_mwaa_environment(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``<env>/airflow_dags`` checks of staging (MWAA) read through ``invoke_rest_api``: the last
    runs and the start SLA go through the same calls as on self-managed Airflow."""
    system = world.system
    world.staging_on_v1()
    world.expect_import_errors()
    world.expect_critical()  # no critical DAG: no last run to read, no smoke run to start
    # The resource builds its system from settings; here it is the world's (stubbed MWAA client).
    monkeypatch.setattr(ReleaseSystemResource, "system", lambda self, actor=None: system)
    defs = dg.Definitions(
        assets=deployment_specs(),
        asset_checks=[airflow_health_check(STAGING)],
        jobs=[
            dg.define_asset_job("staging_health", selection=dg.AssetSelection.all_asset_checks())
        ],
        resources={"release_system": ReleaseSystemResource()},
    )
    result = defs.resolve_job_def("staging_health").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert all(c.passed for c in checks.values())
    sla = checks["airflow_critical_start_sla"]
    assert sla.description == "no critical DAGs not started in 10 min"
    observed = checks["airflow_critical_last_runs"].metadata["last_runs_observed_by"].value
    assert observed == "mwaa invoke_rest_api"
    assert checks["airflow_import_errors"].metadata["release_id"].value == world.v1
