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
    assert [(r.job_name, r.tags.get("finsight/actor"), r.status) for r in runs] == [
        ("build_release_job", "ci", dg.DagsterRunStatus.SUCCESS),
        ("promote_job", "sensor:promote_dev_when_ready", dg.DagsterRunStatus.SUCCESS),
        ("promote_job", "sensor:promote_staging_when_ready", dg.DagsterRunStatus.SUCCESS),
        ("promote_job", "alice", dg.DagsterRunStatus.SUCCESS),
        ("rollback_job", "sensor:rollback_on_failed_checks", dg.DagsterRunStatus.SUCCESS),
    ]  # each deployment judged in its own run: no separate check runs
    assert "prod/airflow_dags" in runs[-1].tags["finsight/attribution"]
