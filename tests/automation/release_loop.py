"""The release loop driven the way CI drives it, against a real dagster-webserver and dagster-daemon.

CI builds through GraphQL (``build_release_job``); the daemon's sensors promote dev, judge it
(``after_deployments`` runs the post-deploy checks, which make it healthy), then promote staging and
judge it; a person promotes prod through GraphQL; a blocking check then fails downstream of prod's change and the
rollback sensor returns prod to the previous release. Used by tests/automation/test_release_loop.py
and benchmarks/release_e2e.py (which times it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_graphql import DagsterGraphQLClient

from finsight_release.automation.local_dagster import LocalDagster
from finsight_release.envs.environment import Environment
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from finsight_release.validate.record import record_verdict
from finsight_release.validate.runner import ValidationReport
from tests.mini_platform import make_platform

LOCATION = {"repository_location_name": "finsight_release", "repository_name": "__repository__"}
TIMEOUT_S = 300.0


@dataclass
class LoopTimes:
    """Seconds from CI's build submission to prod live, and from a failing check to the rollback."""

    submit_to_prod_s: float
    check_fail_to_rollback_s: float


def loop_env(root: Path) -> dict[str, str]:
    """The settings the webserver, daemon and their runs share."""
    return {
        "FINSIGHT_HOME": str(root / "home"),
        "FINSIGHT_REQUIRE_VALIDATION": "",
        "FINSIGHT_BAKE_S": "0",
        "FINSIGHT_SENSOR_INTERVAL_S": "2",
        "FINSIGHT_ACTOR": "ci",
        # The mini platform's Spark job is a job.yaml only: nothing to build a wheel from.
        "FINSIGHT_SPARK_DEPLOY": "off",
    }


def wait_for(what: str, done: Callable[[], bool], timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.5)


def healthy(system: ReleaseSystem, env: Environment, release_id: str) -> bool:
    health = system.deployer.ledger.health(env, release_id)
    return health is not None and health.healthy


def run_job(client: DagsterGraphQLClient, job: str, config: dict[str, Any], actor: str) -> None:
    run_id = client.submit_job_execution(
        job, run_config=config, tags={"finsight/actor": actor}, **LOCATION
    )
    statuses = {
        dg.DagsterRunStatus.SUCCESS,
        dg.DagsterRunStatus.FAILURE,
        dg.DagsterRunStatus.CANCELED,
    }
    wait_for(f"run {run_id} of {job}", lambda: client.get_run_status(run_id) in statuses)
    status = client.get_run_status(run_id)
    if status is not dg.DagsterRunStatus.SUCCESS:
        raise RuntimeError(f"{job} run {run_id} ended {status}")


def finish_runs(instance: dg.DagsterInstance) -> None:
    """Wait until no run of the instance is queued or in progress (stopping the services earlier
    would interrupt a run and record it as failed)."""
    busy = [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
    ]
    wait_for("runs to finish", lambda: not instance.get_runs(dg.RunsFilter(statuses=busy)))


def build(client: DagsterGraphQLClient, tree: Path) -> None:
    run_job(
        client,
        "build_release_job",
        {"ops": {"build_release_op": {"config": {"platform": str(tree)}}}},
        "ci",
    )


def run_loop(root: Path) -> LoopTimes:
    """Release v1 is live everywhere (set up through the core); v2 goes through the loop, then a
    failing check downstream of v2's change in prod returns prod to v1."""
    env = loop_env(root)
    os.environ.update(env)  # this process reads the same state the services write
    system = ReleaseSystem(load_settings())
    v1_tree = make_platform(root / "v1", without="dbt_project")
    v1 = system.build(v1_tree)[0].release_id
    for target in Environment:
        system.promote(target, v1)
        system.judge(target)  # health from evidence: the post-deploy checks pass
    v2_tree = make_platform(
        root / "v2", {"release_assets/airflow/dags/ingest_core.py": "# v2\n"}, without="dbt_project"
    )
    with LocalDagster(root / "dagster", env) as dagster:
        client = DagsterGraphQLClient("127.0.0.1", port_number=dagster.port)
        start = time.monotonic()
        build(client, v2_tree)
        v2 = system.repo.build(v2_tree, "ci")[0].release_id
        # CI's validation verdict for dev (validate_release_job in CI; recorded directly here because
        # the mini platform is not a valid Airflow bundle).
        record_verdict(system.repo.store, v2, Environment.DEV, ValidationReport(results=[]))
        for sensed in (Environment.DEV, Environment.STAGING):
            wait_for(
                f"{v2} live in {sensed}", lambda e=sensed: system.board.read(e)[0].release_id == v2
            )
        # prod takes only what is healthy in staging: its post-deploy checks (after_deployments)
        wait_for(f"{v2} healthy in staging", lambda: healthy(system, Environment.STAGING, v2))
        run_job(
            client,
            "promote_job",
            {"ops": {"promote_op": {"config": {"env": "prod", "release_id": v2}}}},
            "alice",
        )
        submit_to_prod = time.monotonic() - start
        with dg.DagsterInstance.from_config(str(dagster.home)) as instance:
            failed_at = time.monotonic()
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(
                    asset_key=dg.AssetKey(["prod", "airflow_dags"]),
                    check_name="runs_newest_passed_release",
                    passed=False,
                    severity=dg.AssetCheckSeverity.ERROR,
                )
            )
            wait_for(
                "prod back on v1", lambda: system.board.read(Environment.PROD)[0].release_id == v1
            )
            restored = time.monotonic() - failed_at
            finish_runs(instance)  # the rollback run records its deployment after v1 is live
    return LoopTimes(submit_to_prod_s=submit_to_prod, check_fail_to_rollback_s=restored)
