"""The run-failure sensor diagnoses with what the failing release changed against the last good one."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import promote_job
from finsight_release.automation.sensors import diagnose_failed_runs, run_release_id
from tests.mini_platform import make_platform

REQUIREMENTS = "release_assets/airflow/requirements.txt"


def test_run_release_id_reads_the_run_config_or_the_release_partition() -> None:
    config = {"ops": {"promote_op": {"config": {"env": "dev", "release_id": "r-0123456789abcdef"}}}}
    assert (
        run_release_id(dg.DagsterRun(job_name="promote_job", run_config=config))
        == "r-0123456789abcdef"
    )
    partitioned = dg.DagsterRun(
        job_name="build_release_job", tags={"dagster/partition": "r-fedcba9876543210"}
    )
    assert run_release_id(partitioned) == "r-fedcba9876543210"
    assert (
        run_release_id(dg.DagsterRun(job_name="build_release_job", run_config={"ops": {}})) is None
    )


def test_failed_promotion_is_diagnosed_with_the_release_change_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resource = ReleaseSystemResource(home=str(tmp_path / "home"))
    system = resource.system()
    good, _ = system.repo.build(
        make_platform(tmp_path / "p1", {REQUIREMENTS: "croniter==1.3.8\n"}), "a"
    )
    bad, _ = system.repo.build(
        make_platform(tmp_path / "p2", {REQUIREMENTS: "croniter==2.0.0\n"}), "a", base=good
    )
    instance = dg.DagsterInstance.ephemeral()
    result = promote_job.execute_in_process(
        run_config={
            "ops": {"promote_op": {"config": {"env": "dev", "release_id": bad.release_id}}}
        },
        resources={"release_system": resource},
        instance=instance,
        raise_on_error=False,
    )
    if result.success:
        pytest.skip("promotion unexpectedly succeeded; nothing to diagnose")
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name=diagnose_failed_runs.name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=failure,
        resources={"release_system": resource},
    ).for_run_failure()
    diagnose_failed_runs(context)
    event = resource.system().audit.events(action="diagnose")[0]
    assert event["details"]["release_id"] == bad.release_id
    assert "candidates" in event["details"] and "explanation" in event["details"]
    assert instance.get_run_by_id(result.run_id).tags["finsight/diagnosis"]
