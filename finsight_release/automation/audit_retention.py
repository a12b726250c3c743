# No `from __future__ import annotations` here: Dagster resolves op config types from live annotations.
"""The audit database's 90-day retention, enforced by Dagster: a job that runs the core's prune
(:meth:`ReleaseSystem.prune_audit`: export, anchor, delete) and a daily schedule for it."""

import dagster as dg

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import run_actor
from finsight_release.observe.logging import log_context


class PruneAuditConfig(dg.Config):
    """Keep ``retention_days`` (at least 90); export to ``archive`` (empty: the configured one)."""

    retention_days: int = 90
    archive: str = ""
    dry_run: bool = False


@dg.op(out={"pruned": dg.Out(int)})
def prune_audit_op(
    context: dg.OpExecutionContext, config: PruneAuditConfig, release_system: ReleaseSystemResource
) -> dg.Output[int]:
    """Export, anchor, then delete the audit events older than the retention."""
    system = release_system.system(actor=run_actor(context, release_system))
    with log_context(dagster_run_id=context.run_id):
        result = system.prune_audit(
            config.retention_days, config.archive or None, dry_run=config.dry_run
        )
    context.log.info(
        f"{'would prune' if result.dry_run else 'pruned'} {result.pruned} audit events stamped "
        f"before {result.cutoff.isoformat()}"
    )
    metadata = {k: str(v) for k, v in result.as_dict().items() if v is not None}
    return dg.Output(result.pruned, "pruned", metadata=dict(metadata))


@dg.job(tags={"finsight/operation": "prune_audit"})
def prune_audit_job() -> None:
    """Prune the audit database past its retention (exported and anchored first)."""
    prune_audit_op()


prune_audit_schedule = dg.ScheduleDefinition(
    job=prune_audit_job,
    cron_schedule="30 3 * * *",  # daily, after prod's 01:00-03:00 UTC promotion window
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
