"""SQL that lands source tables in the raw layer, built from a TableSpec. Pure Python: no Airflow import.

Load semantics (the reason this module exists):

* PostgreSQL tables -> MERGE on the primary key from a staged batch. The extract takes the rows whose
  incremental column (``updated_at``) falls in the run's data interval ``[start, end)``; the batch is staged
  (Snowflake: a temporary table filled by COPY from the landing file; locally: any table), deduplicated to
  the newest version per key, and MERGEd into the raw table. A retry or a backfill of the same interval
  re-MERGEs the same keys, so it updates rows instead of appending duplicates, and the guard
  ``src.updated_at >= tgt.updated_at`` keeps an older (overlapping) backfill from overwriting newer values.
  MERGE rather than DELETE+INSERT because it is one atomic statement and never leaves a window with rows
  missing for readers.
* S3 event files -> COPY INTO keyed by file name. Event files are immutable and carry no reliable key or
  update timestamp, so the unit of idempotency is the file: Snowflake's COPY keeps load metadata per table
  and skips files it already loaded (64 days), and every load also records its files in
  ``_load_history(table_name, file_name, loaded_at)``. Locally (DuckDB has no load metadata) the
  ``raw._load_history`` table is the only guard: files already recorded there are skipped, in the same
  transaction that inserts the rows.

The MERGE and CREATE statements are written once in the SQL both Snowflake and DuckDB (>= 1.4 / 2.x, which
have ``MERGE INTO``) accept. COPY differs by nature: ``build_snowflake_copy`` for Snowflake stages,
``build_local_file_insert`` for DuckDB reading local files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from finsight_platform.specs import FILE_NAME_COLUMN, TableSpec

LOADED_AT_COLUMN = "_loaded_at"
BATCH_ID_COLUMN = "_batch_id"
LOAD_HISTORY_TABLE = "_load_history"
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# Airflow renders these at run time; the window is the DAG run's data interval in UTC.
# Double quotes inside the Jinja: the rendered value is embedded in a single-quoted SQL literal.
AIRFLOW_INTERVAL_START = '{{ data_interval_start.in_timezone("UTC").strftime("%Y-%m-%d %H:%M:%S") }}'
AIRFLOW_INTERVAL_END = '{{ data_interval_end.in_timezone("UTC").strftime("%Y-%m-%d %H:%M:%S") }}'


@dataclass(frozen=True)
class LoadInterval:
    """A half-open extract window ``[start, end)`` as SQL timestamp literals (or Jinja that renders to them)."""

    start: str
    end: str

    @classmethod
    def from_datetimes(cls, start: datetime, end: datetime) -> LoadInterval:
        """A window from two naive-UTC datetimes.

        Raises:
            ValueError: ``end`` is not after ``start``.
        """
        if end <= start:
            raise ValueError(f"load interval end {end} must be after its start {start}")
        return cls(start.strftime(_TIMESTAMP_FORMAT), end.strftime(_TIMESTAMP_FORMAT))

    @classmethod
    def airflow_data_interval(cls) -> LoadInterval:
        """The DAG run's data interval, as Jinja templates rendered by Airflow."""
        return cls(AIRFLOW_INTERVAL_START, AIRFLOW_INTERVAL_END)


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _timestamp(literal: str) -> str:
    return f"CAST({_quote_literal(literal)} AS TIMESTAMP)"


def local_target(spec: TableSpec) -> str:
    """The raw table in the local DuckDB warehouse: ``raw.<source>__<table>``."""
    return f"raw.{spec.raw_table}"


def snowflake_target(spec: TableSpec, database: str = "{{ var.value.finsight_raw_database }}") -> str:
    """The raw table in Snowflake: ``<RAW database>.<source>.<table>``."""
    return f"{database}.{spec.source}.{spec.table}"


def table_columns(spec: TableSpec) -> tuple[tuple[str, str], ...]:
    """Columns of the raw table: the source columns plus, for PostgreSQL loads, ``_loaded_at``/``_batch_id``."""
    if spec.kind == "postgres":
        return (*spec.columns, (LOADED_AT_COLUMN, "TIMESTAMP"), (BATCH_ID_COLUMN, "VARCHAR"))
    return spec.columns


def build_create_table(spec: TableSpec, target: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the raw table (valid in Snowflake and DuckDB)."""
    columns = ",\n    ".join(f"{name} {type_}" for name, type_ in table_columns(spec))
    return f"CREATE TABLE IF NOT EXISTS {target} (\n    {columns}\n)"


def build_create_load_history(history_table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the file load history (one row per loaded file and table)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {history_table} (\n"
        "    table_name VARCHAR NOT NULL,\n    file_name VARCHAR NOT NULL,\n    loaded_at TIMESTAMP NOT NULL\n)"
    )


def build_extract_query(spec: TableSpec, schema: str, interval: LoadInterval) -> str:
    """The PostgreSQL query extracting one interval of a table (rows changed in ``[start, end)``)."""
    _require_kind(spec, "postgres")
    columns = ", ".join(spec.column_names)
    return (
        f"SELECT {columns} FROM {schema}.{spec.table} "
        f"WHERE {spec.incremental_column} >= {_timestamp(interval.start)} "
        f"AND {spec.incremental_column} < {_timestamp(interval.end)}"
    )


def build_merge(spec: TableSpec, *, target: str, staging: str, interval: LoadInterval, batch_id: str) -> str:
    """MERGE one staged batch into the raw table on the primary key.

    Only staged rows inside the interval are taken, deduplicated to the newest version per key. Matched rows
    are updated only when the staged version is at least as new, so replaying an older batch is a no-op.

    Args:
        spec: A PostgreSQL table spec.
        target: Qualified raw table name.
        staging: Qualified name of the staged batch (same columns as the source table).
        interval: The extract window.
        batch_id: Written to ``_batch_id`` of every inserted or updated row.

    Returns:
        One ``MERGE INTO`` statement, valid in Snowflake and DuckDB.

    Examples:
        >>> build_merge(spec, target="raw.core_banking__accounts", staging="stage_accounts",
        ...             interval=LoadInterval("2024-01-01 00:00:00", "2024-01-01 01:00:00"), batch_id="b1")
    """
    _require_kind(spec, "postgres")
    incremental = spec.incremental_column
    columns = ", ".join(spec.column_names)
    key_list = ", ".join(spec.primary_key)
    on = " AND ".join(f"tgt.{key} = src.{key}" for key in spec.primary_key)
    updates = ",\n        ".join(
        [f"{name} = src.{name}" for name in spec.column_names if name not in spec.primary_key]
        + [f"{LOADED_AT_COLUMN} = CURRENT_TIMESTAMP", f"{BATCH_ID_COLUMN} = {_quote_literal(batch_id)}"]
    )
    insert_columns = f"{columns}, {LOADED_AT_COLUMN}, {BATCH_ID_COLUMN}"
    insert_values = ", ".join(f"src.{name}" for name in spec.column_names)
    return f"""MERGE INTO {target} AS tgt
USING (
    SELECT {columns}
    FROM (
        SELECT {columns},
               ROW_NUMBER() OVER (PARTITION BY {key_list} ORDER BY {incremental} DESC) AS _row_rank
        FROM {staging}
        WHERE {incremental} >= {_timestamp(interval.start)} AND {incremental} < {_timestamp(interval.end)}
    ) AS ranked
    WHERE _row_rank = 1
) AS src
ON {on}
WHEN MATCHED AND src.{incremental} >= tgt.{incremental} THEN UPDATE SET
        {updates}
WHEN NOT MATCHED THEN INSERT ({insert_columns})
    VALUES ({insert_values}, CURRENT_TIMESTAMP, {_quote_literal(batch_id)})"""


def build_snowflake_stage_batch(spec: TableSpec, *, target: str, staging: str, stage_path: str) -> list[str]:
    """Snowflake statements staging one landed Parquet extract into a session-scoped temporary table."""
    _require_kind(spec, "postgres")
    columns = ", ".join(spec.column_names)
    return [
        f"CREATE OR REPLACE TEMPORARY TABLE {staging} AS SELECT {columns} FROM {target} WHERE 1 = 0",
        f"COPY INTO {staging} ({columns}) FROM (SELECT {_parquet_projection(spec.columns)} FROM @{stage_path}) "
        "FILE_FORMAT = (TYPE = PARQUET) FORCE = TRUE",
    ]


def build_snowflake_copy(spec: TableSpec, *, target: str, stage_path: str, history_table: str) -> list[str]:
    """Snowflake COPY INTO of an S3 table's files, then the load history of the files it loaded.

    COPY's own load metadata skips files already loaded into ``target``; ``RESULT_SCAN(LAST_QUERY_ID())``
    reads COPY's per-file result in the same session, so only files loaded now are recorded.
    """
    _require_kind(spec, "s3")
    columns = ", ".join(spec.column_names)
    if spec.file_format == "csv":
        projection = ", ".join(f"${i}::{type_}" for i, (_, type_) in enumerate(spec.data_columns, start=1))
        file_format = "TYPE = CSV SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '\"'"
    else:
        projection = _parquet_projection(spec.data_columns)
        file_format = f"TYPE = {spec.file_format.upper()}"
    return [
        f"COPY INTO {target} ({columns}) FROM (SELECT {projection}, METADATA$FILENAME FROM @{stage_path}) "
        f"FILE_FORMAT = ({file_format}) ON_ERROR = ABORT_STATEMENT",
        f"INSERT INTO {history_table} (table_name, file_name, loaded_at) "
        f'SELECT {_quote_literal(spec.raw_table)}, "file", CURRENT_TIMESTAMP '
        "FROM TABLE(RESULT_SCAN(LAST_QUERY_ID())) WHERE \"status\" IN ('LOADED', 'PARTIALLY_LOADED')",
    ]


def build_local_file_insert(spec: TableSpec, *, target: str, files: Sequence[str]) -> str:
    """DuckDB INSERT of local files into an S3 table, ``_file_name`` set to each row's file path.

    The caller passes only files not yet in the load history (see ``local_load.run_load``).
    """
    _require_kind(spec, "s3")
    reader = {"csv": "read_csv", "parquet": "read_parquet", "json": "read_json"}[spec.file_format]
    options = ", header = true, all_varchar = true" if spec.file_format == "csv" else ""
    file_list = "[" + ", ".join(_quote_literal(path) for path in files) + "]"
    projection = ", ".join(f"CAST({name} AS {type_})" for name, type_ in spec.data_columns)
    return (
        f"INSERT INTO {target} ({', '.join(spec.column_names)}) "
        f"SELECT {projection}, filename FROM {reader}({file_list}, filename = true{options})"
    )


def build_local_history_insert(spec: TableSpec, *, history_table: str, files: Sequence[str]) -> str:
    """DuckDB INSERT recording ``files`` as loaded into ``spec``'s table."""
    rows = ", ".join(f"({_quote_literal(spec.raw_table)}, {_quote_literal(path)}, CURRENT_TIMESTAMP)" for path in files)
    return f"INSERT INTO {history_table} (table_name, file_name, loaded_at) VALUES {rows}"


def _parquet_projection(columns: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"$1:{name}::{type_}" for name, type_ in columns if name != FILE_NAME_COLUMN)


def _require_kind(spec: TableSpec, kind: str) -> None:
    if spec.kind != kind:
        raise ValueError(f"table {spec.raw_table} is a {spec.kind} table; this statement is for {kind} tables")
