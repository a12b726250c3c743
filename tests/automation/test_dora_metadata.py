"""Dagster runs: a deployment's materialization carries its environment's DORA metrics of the week
(the UI plots metadata over time), and the run's audit events carry its Dagster run id."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import build_release_job, promote_job
from finsight_release.observe.dora import iso_week
from tests.mini_platform import make_platform


def test_deployments_carry_dora_metadata_and_the_run_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    instance = dg.DagsterInstance.ephemeral()
    resource = ReleaseSystemResource(home=str(tmp_path / "home"), actor="ci-bot")
    resources = {"release_system": resource}
    built = build_release_job.execute_in_process(
        run_config={
            "ops": {
                "build_release_op": {
                    "config": {
                        "platform": str(make_platform(tmp_path / "p", without="dbt_project"))
                    }
                }
            }
        },
        resources=resources,
        instance=instance,
    )
    release = str(built.output_for_node("build_release_op", "release_id"))
    promoted = promote_job.execute_in_process(
        run_config={"ops": {"promote_op": {"config": {"env": "dev", "release_id": release}}}},
        resources=resources,
        instance=instance,
    )
    event = instance.get_latest_materialization_event(dg.AssetKey(["dev", "airflow_dags"]))
    assert event and event.asset_materialization
    metadata = event.asset_materialization.metadata
    assert metadata["dora/DeploymentFrequency"].value == 1.0
    assert metadata["dora/ChangeFailureRate"].value == 0.0
    assert metadata["dora/LeadTimeForChanges"].value >= 0.0
    assert metadata["dora/week"].value == iso_week(datetime.fromtimestamp(event.timestamp, UTC))
    events = resource.system().audit.events(release_id=release, action="promote")
    assert events and {e["details"]["dagster_run_id"] for e in events} == {promoted.run_id}
