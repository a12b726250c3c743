"""The ids that tie every log line, metric record and audit event of an operation together.

One source of truth: structlog's context variables. ``log_context`` binds them for a block (the
deployer binds release, environment and operation id; the Dagster op binds its run id), and the
metric sink and the audit log read them back here, so a record written anywhere inside the block
carries the same ids as the log lines around it.
"""

from __future__ import annotations

import structlog

# The correlation keys, as bound in the log context (and written in logs and audit details).
CORRELATION_KEYS = ("release_id", "environment", "operation_id", "dagster_run_id")

# The same ids as EMF properties (searchable in CloudWatch Logs Insights, not metric dimensions:
# an id per release would make a metric per release).
EMF_PROPERTY_NAMES = {
    "release_id": "ReleaseId",
    "environment": "Environment",
    "operation_id": "OperationId",
    "dagster_run_id": "DagsterRunId",
}


def current_correlation() -> dict[str, str]:
    """The correlation ids bound in the current context (only those that are set)."""
    bound = structlog.contextvars.get_contextvars()
    return {key: str(bound[key]) for key in CORRELATION_KEYS if bound.get(key) is not None}


def emf_properties() -> dict[str, str]:
    """The current correlation ids under their EMF property names."""
    return {EMF_PROPERTY_NAMES[key]: value for key, value in current_correlation().items()}


def audit_correlation() -> dict[str, str]:
    """What an audit event's details get from the context: the operation and Dagster run ids (release
    and environment are columns of their own, set by the caller)."""
    ids = current_correlation()
    return {key: ids[key] for key in ("operation_id", "dagster_run_id") if key in ids}
