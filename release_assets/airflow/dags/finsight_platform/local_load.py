"""Local executor of the raw loads on DuckDB: the same MERGE / file-keyed COPY semantics as the DAGs.

Used by tests and by local runs of the platform (the warehouse is one DuckDB file, raw data in schema
``raw``). Not imported by any DAG: DuckDB is not installed in Airflow. Needs duckdb >= 1.4 (MERGE INTO).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsight_platform.load_sql import (
    LOAD_HISTORY_TABLE,
    LoadInterval,
    build_create_load_history,
    build_create_table,
    build_local_file_insert,
    build_local_history_insert,
    build_merge,
    local_target,
)
from finsight_platform.specs import TableSpec

if TYPE_CHECKING:
    import duckdb

RAW_SCHEMA = "raw"
LOCAL_HISTORY_TABLE = f"{RAW_SCHEMA}.{LOAD_HISTORY_TABLE}"

# A batch of a PostgreSQL table: the name of a staging table already in the connection, or the rows.
PostgresBatch = str | Sequence[Mapping[str, Any]]
# A batch of an S3 table: paths of local files (their paths are the file names in the load history).
S3Batch = Sequence[str | Path]


@dataclass(frozen=True)
class LoadResult:
    """What one load did.

    Attributes:
        raw_table: ``<source>__<table>``.
        rows_before: Rows in the raw table before the load.
        rows_after: Rows in the raw table after the load.
        files_loaded: S3 files loaded now (S3 loads only; files already in the history are skipped).
    """

    raw_table: str
    rows_before: int
    rows_after: int
    files_loaded: tuple[str, ...] = ()


def run_load(
    connection: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    batch: PostgresBatch | S3Batch,
    interval: LoadInterval | None = None,
    *,
    batch_id: str | None = None,
) -> LoadResult:
    """Load one batch of one table into ``raw.<source>__<table>``, idempotently.

    Args:
        connection: An open DuckDB connection (the local warehouse).
        spec: The table's spec from the source YAML.
        batch: PostgreSQL tables: a staging table name or a list of row dicts. S3 tables: local file paths.
        interval: The extract window (PostgreSQL tables only; rows outside it are ignored).
        batch_id: ``_batch_id`` of the merged rows; defaults to ``local:<start>/<end>``.

    Returns:
        Row counts before and after, and the files loaded.

    Raises:
        ValueError: An interval is missing for a PostgreSQL table.
    """
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    target = local_target(spec)
    connection.execute(build_create_table(spec, target))
    rows_before = _count(connection, target)
    if spec.kind == "postgres":
        if interval is None:
            raise ValueError(f"loading {spec.raw_table} needs an interval (PostgreSQL tables load a window)")
        _merge_batch(connection, spec, target, batch, interval, batch_id or f"local:{interval.start}/{interval.end}")
        return LoadResult(spec.raw_table, rows_before, _count(connection, target))
    loaded = _copy_files(connection, spec, target, [str(path) for path in batch])
    return LoadResult(spec.raw_table, rows_before, _count(connection, target), loaded)


def _merge_batch(
    connection: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    target: str,
    batch: PostgresBatch,
    interval: LoadInterval,
    batch_id: str,
) -> None:
    staging = batch if isinstance(batch, str) else _stage_rows(connection, spec, batch)
    connection.execute(build_merge(spec, target=target, staging=staging, interval=interval, batch_id=batch_id))


def _stage_rows(connection: duckdb.DuckDBPyConnection, spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> str:
    staging = f"_stage_{spec.raw_table}"
    columns = ", ".join(f"{name} {type_}" for name, type_ in spec.columns)
    connection.execute(f"CREATE OR REPLACE TEMP TABLE {staging} ({columns})")
    if rows:
        placeholders = ", ".join("?" for _ in spec.columns)
        connection.executemany(
            f"INSERT INTO {staging} VALUES ({placeholders})",
            [[row.get(name) for name in spec.column_names] for row in rows],
        )
    return staging


def _copy_files(
    connection: duckdb.DuckDBPyConnection, spec: TableSpec, target: str, files: list[str]
) -> tuple[str, ...]:
    connection.execute(build_create_load_history(LOCAL_HISTORY_TABLE))
    # One transaction: rows and history rows land together, so a crash cannot load a file without
    # recording it (duplicates on retry) or record it without its rows (data loss).
    connection.execute("BEGIN TRANSACTION")
    try:
        already = {
            row[0]
            for row in connection.execute(
                f"SELECT file_name FROM {LOCAL_HISTORY_TABLE} WHERE table_name = ?", [spec.raw_table]
            ).fetchall()
        }
        pending = tuple(dict.fromkeys(path for path in files if path not in already))
        if pending:
            connection.execute(build_local_file_insert(spec, target=target, files=pending))
            connection.execute(build_local_history_insert(spec, history_table=LOCAL_HISTORY_TABLE, files=pending))
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise
    return pending


def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
