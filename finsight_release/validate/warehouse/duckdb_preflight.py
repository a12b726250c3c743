"""Preflight of an environment's DuckDB warehouse file: it opens for writing, the deploy can create what
dbt creates, and the raw tables the dbt sources name are there and readable.

Everything that could change the file runs in one transaction that is rolled back, so the file is
byte-for-byte the same afterwards (DuckDB writes nothing for a rolled-back transaction). Reads of the
source tables happen after the rollback, each on its own, because one failed statement aborts a
DuckDB transaction. ``doctor``'s warehouse and grants probes use the same functions.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from pathlib import Path

import duckdb

from finsight_release.one_line import one_line
from finsight_release.validate.dbt.sources import SourceTable
from finsight_release.validate.finding import Severity
from finsight_release.validate.warehouse import problem as codes
from finsight_release.validate.warehouse.problem import WarehouseProblem

PROBE_SCHEMA_PREFIX = "_finsight_preflight_"


def quote(identifier: str) -> str:
    """A DuckDB quoted identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def open_read_only_error(path: Path) -> str | None:
    """DuckDB's error text when ``path`` cannot be opened (read-only) and queried, else None."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            con.execute("select 1").fetchone()
    except duckdb.Error as exc:
        return one_line(exc)
    return None


def try_ddl(con: duckdb.DuckDBPyConnection, view_over: str | None = None) -> str | None:
    """On ``con``'s open transaction, create a schema, a table in it and a view (over ``view_over``, a
    quoted relation, or the new table); the failing statement and error, or None.

    The schema name is unique per call so a leftover of any kind can never make the probe fail.
    """
    schema = quote(PROBE_SCHEMA_PREFIX + uuid.uuid4().hex[:12])
    statements = (
        f"create schema {schema}",
        f"create table {schema}.probe_table (x integer)",
        f"create view {schema}.probe_view as select * from {view_over or f'{schema}.probe_table'} limit 0",
    )
    for statement in statements:
        try:
            con.execute(statement)
        except duckdb.Error as exc:
            return f"{statement.split(' as ', 1)[0]}: {one_line(exc)}"
    return None


def rolled_back_ddl_error(path: Path) -> str | None:
    """Open ``path`` for writing and try :func:`try_ddl` in a transaction that is rolled back; the error
    text (opening included), or None when the deploy could create schemas, tables and views."""
    try:
        with duckdb.connect(str(path)) as con:
            con.execute("begin transaction")
            try:
                return try_ddl(con)
            finally:
                con.execute("rollback")
    except duckdb.Error as exc:
        return one_line(exc)


def open_problem(path: Path, error: str) -> WarehouseProblem:
    """The finding-ready form of a failure to open ``path`` for writing, by what DuckDB said."""
    lowered = error.lower()
    if "lock" in lowered or "different configuration" in lowered:
        return WarehouseProblem(
            codes.CONNECT,
            Severity.ERROR,
            f"warehouse file {path} is in use by another process, a deploy could not write it: {error}",
            "stop the process holding it (dagster dev, a notebook, a running deploy) or retry when it is done",
        )
    if (
        "permission denied" in lowered
        or "operation not permitted" in lowered
        or "read-only" in lowered
    ):
        return WarehouseProblem(
            codes.CONNECT,
            Severity.ERROR,
            f"warehouse file {path} is not writable by the deploy user: {error}",
            f"make {path} and its directory writable by the user that deploys (chmod/chown; chattr -i)",
        )
    if "version" in lowered:
        return WarehouseProblem(
            codes.CONNECT,
            Severity.ERROR,
            f"warehouse file {path} was written by another DuckDB version: {error}",
            f"use the same duckdb version (duckdb=={duckdb.__version__}) for every tool that opens the file",
        )
    return WarehouseProblem(
        codes.CONNECT,
        Severity.ERROR,
        f"warehouse file {path} cannot be opened (corrupt or not a DuckDB database): {error}",
        "restore it from a backup, or move it away so the next deploy rebuilds it (raw data reloaded)",
    )


def duckdb_preflight(
    path: Path, tables: Sequence[SourceTable], seeded_schemas: Collection[str] = ()
) -> list[WarehouseProblem]:
    """Preflight ``path`` for a deploy that reads ``tables``.

    A missing file is INFO (nothing deployed there yet: the first deploy creates it). Source tables in a
    schema that is absent and listed in ``seeded_schemas`` are INFO too (the deploy creates that schema
    with its data); any other missing source table is an ERROR naming it.
    """
    if not path.exists():
        return [
            WarehouseProblem(
                codes.MISSING,
                Severity.INFO,
                f"no warehouse file {path} yet: nothing is deployed there, the first deploy creates it",
            )
        ]
    try:
        con = duckdb.connect(str(path))  # read-write, as the deploy opens it
    except duckdb.Error as exc:
        return [open_problem(path, one_line(exc))]
    problems: list[WarehouseProblem] = []
    try:
        # The file's own catalog only: dbt-duckdb resolves sources there.
        here = "where database_name = current_database()"
        schemas = {
            s.lower()
            for (s,) in con.execute(f"select schema_name from duckdb_schemas() {here}").fetchall()
        }
        relations = {
            (s.lower(), t.lower())
            for s, t in con.execute(
                f"select schema_name, table_name from duckdb_tables() {here}"
            ).fetchall()
            + con.execute(
                f"select schema_name, view_name from duckdb_views() {here} and not internal"
            ).fetchall()
        }
        present = [t for t in tables if (t.schema.lower(), t.identifier.lower()) in relations]
        con.execute("begin transaction")
        try:
            view_over = (
                f"{quote(present[0].schema)}.{quote(present[0].identifier)}" if present else None
            )
            if (error := try_ddl(con, view_over)) is not None:
                problems.append(
                    WarehouseProblem(
                        codes.GRANTS,
                        Severity.ERROR,
                        f"the deploy cannot create what dbt creates in {path.name}: {error}",
                        "dbt needs to create schemas, tables and views: fix the file's permissions or attachment",
                    )
                )
        finally:
            con.execute("rollback")
        problems += _missing_sources(tables, relations, schemas, seeded_schemas)
        problems += _unreadable_sources(con, present)
    finally:
        con.close()
    return problems


def _missing_sources(
    tables: Sequence[SourceTable],
    relations: set[tuple[str, str]],
    schemas: set[str],
    seeded_schemas: Collection[str],
) -> list[WarehouseProblem]:
    problems: list[WarehouseProblem] = []
    seeded_reported: set[str] = set()
    seeded = {s.lower() for s in seeded_schemas}
    for table in tables:
        schema = table.schema.lower()
        if (schema, table.identifier.lower()) in relations:
            continue
        if schema not in schemas and schema in seeded:
            if schema not in seeded_reported:
                seeded_reported.add(schema)
                problems.append(
                    WarehouseProblem(
                        codes.SOURCE_MISSING,
                        Severity.INFO,
                        f"schema {table.schema} is absent: the next deploy creates it with the raw tables",
                        table=table,
                    )
                )
            continue
        problems.append(
            WarehouseProblem(
                codes.SOURCE_MISSING,
                Severity.ERROR,
                f"raw table {table.schema}.{table.identifier} (source('{table.source}', '{table.table}')) "
                "does not exist in the warehouse",
                f"load it (the Airflow load DAG of {table.source}) or fix source('{table.source}', '{table.table}')",
                table=table,
            )
        )
    return problems


def _unreadable_sources(
    con: duckdb.DuckDBPyConnection, present: Sequence[SourceTable]
) -> list[WarehouseProblem]:
    """Each present source table answers a query (a view over a dropped table would not)."""
    problems: list[WarehouseProblem] = []
    for table in present:
        try:
            con.execute(
                f"select * from {quote(table.schema)}.{quote(table.identifier)} limit 0"
            ).fetchall()
        except duckdb.Error as exc:
            problems.append(
                WarehouseProblem(
                    codes.SOURCE_UNREADABLE,
                    Severity.ERROR,
                    f"raw table {table.schema}.{table.identifier} cannot be read: {one_line(exc)}",
                    f"repair or reload the relation behind source('{table.source}', '{table.table}')",
                    table=table,
                )
            )
    return problems
