"""The audit pruning job: run in process against a real SQLite audit log with events stamped in the
past; it exports, anchors and prunes, and the chain still verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import time_machine

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.audit.export import verify_bundle
from finsight_release.audit.verify import verify_chain
from finsight_release.automation.audit_retention import prune_audit_job, prune_audit_schedule
from finsight_release.store.local import LocalObjectStore
from tests.audit.chain_helpers import fill


def test_the_job_prunes_past_the_retention_and_the_schedule_runs_daily(tmp_path: Path) -> None:
    resource = ReleaseSystemResource(home=str(tmp_path / "home"), actor="ops")
    system = resource.system()
    with time_machine.travel(datetime.now(UTC) - timedelta(days=100), tick=True):
        fill(system.audit, 4)
    fill(system.audit, 2)
    archive = tmp_path / "archive"
    result = prune_audit_job.execute_in_process(
        run_config={"ops": {"prune_audit_op": {"config": {"archive": str(archive)}}}},
        resources={"release_system": resource},
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/schedule_name": prune_audit_schedule.name},
    )
    assert result.success and result.output_for_node("prune_audit_op", "pruned") == 4
    chain = verify_chain(system.audit)
    assert chain.ok and chain.first_seq == 5, chain.message
    (bundle,) = archive.iterdir()
    assert verify_bundle(LocalObjectStore(bundle)).events == 4
    (event,) = system.audit.events(action="prune")
    assert event["actor"] == "schedule:prune_audit_job_schedule"
    assert event["details"]["dagster_run_id"] == result.run_id
    assert prune_audit_schedule.cron_schedule == "30 3 * * *"
