"""Conventions every FinSight DAG shares: connection ids, start date, default_args.

Connections are named ``postgres_<source database>``, ``snowflake_default`` and ``aws_default`` in every
environment; what differs per environment (buckets, databases, warehouses) lives in Airflow Variables
named ``finsight_*`` and is read through Jinja (``{{ var.value.finsight_landing_bucket }}``) at run time,
never with ``Variable.get`` while a DAG file is parsed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

from finsight_platform.alerts import notify_task_failure

SNOWFLAKE_CONN_ID = "snowflake_default"
AWS_CONN_ID = "aws_default"
# A fixed date: a moving start_date (e.g. days_ago) changes the DAG on every parse and breaks scheduling.
START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")

VAR_LANDING_BUCKET = "{{ var.value.finsight_landing_bucket }}"
VAR_LANDING_STAGE = "{{ var.value.finsight_landing_stage }}"
VAR_SOURCE_FILES_STAGE = "{{ var.value.finsight_source_files_stage }}"
VAR_RAW_DATABASE = "{{ var.value.finsight_raw_database }}"
VAR_ANALYTICS_DATABASE = "{{ var.value.finsight_analytics_database }}"


def postgres_conn_id(source: str) -> str:
    """Airflow connection id of a source PostgreSQL database, e.g. ``postgres_core_banking``."""
    return f"postgres_{source}"


def default_args(owner: str, *, retries: int = 2, sla: timedelta | None = None) -> dict[str, Any]:
    """default_args for a FinSight DAG: owner, retries with exponential backoff, failure alert, optional SLA.

    Args:
        owner: Team that owns the DAG (shown in the UI, paged on failure).
        retries: Retries per task; loads are idempotent, so retrying is always safe.
        sla: Airflow 2.x task SLA, set on critical DAGs only.
    """
    args: dict[str, Any] = {
        "owner": owner,
        "retries": retries,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": notify_task_failure,
    }
    if sla is not None:
        args["sla"] = sla
    return args
