"""What an environment's raw layer holds, table by table: row count, newest ``updated_at`` and
``_loaded_at``, and the last load recorded in ``_load_history``.

The reading runs plain SQL that DuckDB and Snowflake both accept through ``query`` (a function from
SQL text to rows): the Dagster layer passes a DuckDB connection locally and dagster-snowflake's
``SnowflakeResource`` connection in AWS mode, so freshness is read from the warehouse, not assumed.
Identifiers are compared case-insensitively (Snowflake folds unquoted names to upper case). Two
layouts, as the dbt sources declare them: locally one schema ``raw`` with ``<source>__<table>``
tables; on Snowflake a raw database with one schema per source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from finsight_release.reference.raw_schema import LOAD_HISTORY_TABLE, RAW_SCHEMA

Query = Callable[[str], Sequence[Sequence[Any]]]
UPDATED = "updated_at"
LOADED = "_loaded_at"


@dataclass(frozen=True)
class RawLayout:
    """Where raw tables live: the schemas holding them (a SQL condition on ``table_schema``) and
    whether a table's name is ``<schema>__<table>`` (one schema per source) or the table's own."""

    schemas: str
    schema_per_source: bool

    def name(self, schema: str, table: str) -> str:
        return f"{schema}__{table}" if self.schema_per_source else table


LOCAL_LAYOUT = RawLayout(f"lower(table_schema) = '{RAW_SCHEMA}'", schema_per_source=False)
SNOWFLAKE_LAYOUT = RawLayout(
    "lower(table_schema) not in ('information_schema', 'public')", schema_per_source=True
)


@dataclass(frozen=True)
class RawTableReading:
    """One raw table as read from an environment's warehouse."""

    table: str  # "<source>__<table>"
    row_count: int
    max_updated_at: datetime | None
    max_loaded_at: datetime | None
    last_load: datetime | None  # the newest load of it in _load_history

    @property
    def last_update(self) -> datetime | None:
        """When its data last changed, as well as the table says: newest load, else newest update."""
        moments = [m for m in (self.max_loaded_at, self.last_load, self.max_updated_at) if m]
        return max(moments) if moments else None


def read_raw_tables(
    query: Query, layout: RawLayout = LOCAL_LAYOUT, only: Sequence[str] | None = None
) -> list[RawTableReading]:
    """Read every raw table of ``layout`` (or the ``only`` ones present), sorted by name."""
    columns: dict[str, set[str]] = {}
    relations: dict[str, str] = {}
    for schema, table, column in query(
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where {layout.schemas}"
    ):
        schema, table = str(schema).lower(), str(table).lower()
        name = layout.name(schema, table)
        relations[name] = f"{schema}.{table}"
        columns.setdefault(name, set()).add(str(column).lower())
    history = relations.pop(layout.name(RAW_SCHEMA, LOAD_HISTORY_TABLE), None)
    loads: dict[str, datetime] = {}
    if history is not None:
        loads = {
            str(name).lower(): moment
            for name, moment in query(
                f"select table_name, max(loaded_at) from {history} group by table_name"
            )
            if moment is not None
        }
    wanted = {t.lower() for t in only} if only is not None else None
    readings = []
    for name in sorted(relations):
        if wanted is not None and name not in wanted:
            continue
        has = columns[name]
        updated = f"max({UPDATED})" if UPDATED in has else "null"
        loaded = f"max({LOADED})" if LOADED in has else "null"
        ((count, max_updated, max_loaded),) = query(
            f"select count(*), {updated}, {loaded} from {relations[name]}"
        )
        readings.append(RawTableReading(name, int(count), max_updated, max_loaded, loads.get(name)))
    return readings
