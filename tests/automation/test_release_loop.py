"""The whole loop on a real dagster-webserver and dagster-daemon: CI builds through GraphQL, sensors
promote dev and staging, a person promotes prod, a failing check downstream of prod's change rolls
it back. Slow (two Dagster services and their code servers), so one test drives it all."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from tests.automation.release_loop import run_loop


@pytest.mark.slow
def test_release_loop_through_graphql_and_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "FINSIGHT_HOME",
        "FINSIGHT_REQUIRE_VALIDATION",
        "FINSIGHT_BAKE_S",
        "FINSIGHT_ACTOR",
    ):
        monkeypatch.delenv(
            name, raising=False
        )  # restored after; run_loop sets them for the services
    times = run_loop(tmp_path)
    assert times.submit_to_prod_s > 0 and times.check_fail_to_rollback_s > 0
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        runs = [record.dagster_run for record in reversed(instance.get_run_records())]
    # Each promotion judged in its own run: no check run before prod (after the rollback,
    # after_deployments may judge the restored release in one). Scheduled runs (post-deploy checks
    # every 15 minutes, detection checks every 30) fire whenever the clock crosses their time.
    releases = [
        r
        for r in runs
        if r.job_name != "post_deploy_checks_job" and "dagster/schedule_name" not in r.tags
    ]
    assert [(r.job_name, r.tags.get("finsight/actor"), r.status) for r in releases] == [
        ("build_release_job", "ci", dg.DagsterRunStatus.SUCCESS),
        ("promote_job", "sensor:promote_dev_when_ready", dg.DagsterRunStatus.SUCCESS),
        ("promote_job", "sensor:promote_staging_when_ready", dg.DagsterRunStatus.SUCCESS),
        ("promote_job", "alice", dg.DagsterRunStatus.SUCCESS),
        ("rollback_job", "sensor:rollback_on_failed_checks", dg.DagsterRunStatus.SUCCESS),
    ]
    assert "prod/airflow_dags" in releases[-1].tags["finsight/attribution"]
    before_prod = runs[: runs.index(releases[3])]
    assert not [r for r in before_prod if r.tags.get("dagster/sensor_name") == "after_deployments"]
