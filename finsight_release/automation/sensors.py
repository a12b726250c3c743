"""Every failed run of this code location's jobs gets a diagnosis: tagged on the run and audited.

When the run concerns a release (``release_id`` in its run config, or a release partition), what that
release changed against the last good release (change set and lock diff) is part of the evidence.
"""

from typing import Any

import dagster as dg

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import (
    build_release_job,
    promote_job,
    rollback_job,
    validate_release_job,
)


def failure_text(context: dg.RunFailureSensorContext) -> str:
    """The run's error output: each failed step's error (with causes), else the run failure message."""
    parts = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error if event.step_failure_data else None
        while error is not None:
            parts.append(f"{error.cls_name}: {error.message}")
            parts.extend(error.stack[-3:])
            error = error.cause
    if not parts and context.failure_event.message:
        parts.append(context.failure_event.message)
    return "\n".join(parts)


def run_failure_text(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The error output of a stored run (failed steps with their causes), or None if there is no such run."""
    if instance.get_run_by_id(run_id) is None:
        return None
    parts = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.event_type_value not in {
            "STEP_FAILURE",
            "PIPELINE_FAILURE",
            "RUN_FAILURE",
        }:
            continue
        error = getattr(event.event_specific_data, "error", None)
        if error is None and event.message:
            parts.append(event.message)
        while error is not None:
            parts.append(f"{error.cls_name}: {error.message}")
            parts.extend(error.stack[-3:])
            error = error.cause
    return "\n".join(parts)


def _find_release_id(config: Any) -> str | None:
    """The first ``release_id`` value (``r-...``) anywhere in a run config."""
    if isinstance(config, dict):
        value = config.get("release_id")
        if isinstance(value, str) and value.startswith("r-"):
            return value
        return next((found for v in config.values() if (found := _find_release_id(v))), None)
    if isinstance(config, list):
        return next((found for v in config if (found := _find_release_id(v))), None)
    return None


def run_release_id(run: dg.DagsterRun) -> str | None:
    """The release a run concerns: its run config's ``release_id``, else a release partition key."""
    found = _find_release_id(run.run_config or {})
    partition = run.tags.get("dagster/partition", "")
    return found or (partition if partition.startswith("r-") else None)


@dg.run_failure_sensor(
    monitored_jobs=[build_release_job, promote_job, rollback_job, validate_release_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Diagnose each failed release run to its root-cause layer; tag the run and audit it.",
)
def diagnose_failed_runs(
    context: dg.RunFailureSensorContext, release_system: ReleaseSystemResource
) -> None:
    run = context.dagster_run
    operation = run.tags.get("finsight/operation", run.job_name)
    release_id = run_release_id(run)
    diagnosis = release_system.system().diagnose_failure(
        failure_text(context),
        operation,
        release_id=release_id,
        source={"run_id": run.run_id, "job": run.job_name, "release_id": release_id},
        actor="dagster",
    )
    context.instance.add_run_tags(
        run.run_id,
        {
            "finsight/diagnosis": str(diagnosis.category),
            "finsight/diagnosis_confidence": f"{diagnosis.confidence:.2f}",
            "finsight/rollback_recommended": str(diagnosis.rollback_recommended).lower(),
        },
    )
    context.log.info(
        f"run {run.run_id} diagnosed as {diagnosis.category} ({diagnosis.confidence:.2f})"
    )
