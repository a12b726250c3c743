"""DAG factory: one ingestion DAG per (source, group) of the YAML files under ``dags/sources/``.

Load semantics, and why (the SQL itself is built by ``finsight_platform.load_sql``, importable without Airflow):

* PostgreSQL tables: ``extract_<table>`` (SqlToS3Operator) writes the rows whose ``updated_at`` falls in the
  run's data interval ``[start, end)`` to one Parquet file at a key derived from the interval
  (``{{ macros.finsight.landing_key(...) }}``, overwritten on retry). ``merge_<table>``
  (SQLExecuteQueryOperator on Snowflake) stages that file in a temporary table and MERGEs it into
  ``RAW.<source>.<table>`` on the primary key, newest version per key, never overwriting a newer row.
  Why: a retry or backfill of the same interval produces the same file and re-MERGEs the same keys, so it
  updates rows instead of duplicating them; ``max_active_runs=1`` keeps intervals of a table in order.
* S3 tables: ``copy_<table>`` runs COPY INTO from the table's prefix on the source-files stage. Why: event files are
  immutable and have no update timestamp, so the file is the unit of idempotency. Snowflake's COPY load
  metadata skips files already loaded into the table, and each COPY's loaded files are recorded in
  ``RAW.PUBLIC._LOAD_HISTORY(table_name, file_name, loaded_at)`` (locally ``raw._load_history``).

Parse cost: each YAML file is read once per process (``specs.load_source`` is cached) and each DAG file
builds only its own source's DAGs, so one source's broken definition cannot take the others down.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import timedelta
from typing import Any

from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.empty import EmptyOperator
from airflow.providers.amazon.aws.transfers.sql_to_s3 import SqlToS3Operator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

from finsight_platform.alerts import notify_sla_miss
from finsight_platform.defaults import (
    AWS_CONN_ID,
    SNOWFLAKE_CONN_ID,
    START_DATE,
    VAR_LANDING_BUCKET,
    VAR_LANDING_STAGE,
    VAR_RAW_DATABASE,
    VAR_SOURCE_FILES_STAGE,
    default_args,
)
from finsight_platform.load_sql import (
    LOAD_HISTORY_TABLE,
    LoadInterval,
    build_create_load_history,
    build_create_table,
    build_extract_query,
    build_merge,
    build_snowflake_copy,
    build_snowflake_stage_batch,
    snowflake_target,
)
from finsight_platform.specs import GroupSpec, SourceSpec, TableSpec, load_source, source_path

SNOWFLAKE_HISTORY_TABLE = f"{VAR_RAW_DATABASE}.public.{LOAD_HISTORY_TABLE}"
MAX_PARALLEL_TABLES = 8  # per DAG run: bounds concurrent queries against one source database


def ingestion_dag_id(source: str, group: str) -> str:
    """DAG id of a group's ingestion DAG, e.g. ``ingest_core_banking__transactions``."""
    return f"ingest_{source}__{group}"


def landing_key_template(spec: TableSpec) -> str:
    """Jinja rendering the S3 key of one interval's extract of ``spec`` (plugin macro ``finsight``)."""
    return f'{{{{ macros.finsight.landing_key("{spec.source}", "{spec.table}", data_interval_start) }}}}'


def _extract_and_merge(source: SourceSpec, spec: TableSpec) -> tuple[SqlToS3Operator, SQLExecuteQueryOperator]:
    interval = LoadInterval.airflow_data_interval()
    target = snowflake_target(spec)
    staging = f"{VAR_RAW_DATABASE}.{spec.source}._stage_{spec.table}"
    extract = SqlToS3Operator(
        task_id=f"extract_{spec.table}",
        sql_conn_id=source.conn_id,
        query=build_extract_query(spec, source.schema or "public", interval),
        s3_bucket=VAR_LANDING_BUCKET,
        s3_key=landing_key_template(spec),
        aws_conn_id=AWS_CONN_ID,
        file_format="parquet",
        replace=True,  # a retry rewrites the same key: the merge reads exactly one file per interval
    )
    merge = SQLExecuteQueryOperator(
        task_id=f"merge_{spec.table}",
        conn_id=SNOWFLAKE_CONN_ID,
        sql=[
            build_create_table(spec, target),
            *build_snowflake_stage_batch(
                spec, target=target, staging=staging, stage_path=f"{VAR_LANDING_STAGE}/{landing_key_template(spec)}"
            ),
            build_merge(spec, target=target, staging=staging, interval=interval, batch_id="{{ run_id }}"),
        ],
    )
    extract >> merge
    return extract, merge


def _copy(spec: TableSpec) -> SQLExecuteQueryOperator:
    target = snowflake_target(spec)
    return SQLExecuteQueryOperator(
        task_id=f"copy_{spec.table}",
        conn_id=SNOWFLAKE_CONN_ID,
        sql=[
            build_create_table(spec, target),
            build_create_load_history(SNOWFLAKE_HISTORY_TABLE),
            *build_snowflake_copy(
                spec,
                target=target,
                stage_path=f"{VAR_SOURCE_FILES_STAGE}/{spec.prefix}",
                history_table=SNOWFLAKE_HISTORY_TABLE,
            ),
        ],
    )


def _dag_kwargs(source: SourceSpec, group: GroupSpec) -> dict[str, Any]:
    sla = timedelta(minutes=group.sla_minutes) if group.critical and group.sla_minutes else None
    tags = ["ingestion", source.kind, source.name, "generated"] + (["critical"] if group.critical else [])
    semantics = "MERGE on primary key, updated_at window" if source.kind == "postgres" else "COPY INTO keyed by file"
    return {
        "dag_id": ingestion_dag_id(source.name, group.name),
        "description": f"Load {len(group.tables)} {source.name} {group.name} tables into RAW ({semantics})",
        "schedule": group.schedule,
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "max_active_tasks": MAX_PARALLEL_TABLES,
        "dagrun_timeout": timedelta(hours=3),
        "default_args": default_args(source.owner, sla=sla),
        "sla_miss_callback": notify_sla_miss if sla else None,
        "tags": tags,
        "doc_md": (
            f"Generated from `sources/{source.name}.yaml`, group `{group.name}`. Load semantics: {semantics}; "
            "retries and backfills are idempotent. See `finsight_platform/factory.py`."
        ),
    }


def build_group_dag(source: SourceSpec, group: GroupSpec) -> DAG:
    """One ingestion DAG: ``start`` -> per-table load chain -> ``load_complete`` (emits the group's Dataset)."""
    with DAG(**_dag_kwargs(source, group)) as dag:
        start = EmptyOperator(task_id="start")
        done = EmptyOperator(
            task_id="load_complete", outlets=[Dataset(f"snowflake://finsight/raw/{source.name}/{group.name}")]
        )
        for spec in group.tables:
            if source.kind == "postgres":
                first, last = _extract_and_merge(source, spec)
            else:
                first = last = _copy(spec)
            start >> first
            last >> done
    return dag


def build_source_dags(source: SourceSpec) -> list[DAG]:
    """Every ingestion DAG of one source, one per group."""
    return [build_group_dag(source, group) for group in source.groups]


def register_source_dags(source_name: str, namespace: MutableMapping[str, Any]) -> list[DAG]:
    """Build the DAGs of ``sources/<source_name>.yaml`` and bind them in a DAG file's ``globals()``.

    Args:
        source_name: Source YAML file stem, e.g. ``core_banking``.
        namespace: The calling DAG file's ``globals()``; Airflow's DagBag collects DAG objects from it.
    """
    dags = build_source_dags(load_source(source_path(source_name)))
    for dag in dags:
        namespace[dag.dag_id] = dag
    return dags
