"""Deterministic synthetic fintech data for the 12 raw tables of a local DuckDB warehouse.

Customers own accounts, accounts make transactions (each scored for fraud), payments to merchants,
card authorizations and risk alerts; succeeded payments get refunds and chargebacks; merchants have
fee schedules; FX rates cover every day of activity. Data is made with set-based DuckDB SQL and
seeded hash draws (see :mod:`finsight_release.reference.synthetic_sql`), so scale 100 takes seconds,
and the same ``seed``, ``scale`` and ``as_of`` always give identical tables.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from finsight_release.errors import SyntheticDataError
from finsight_release.reference.raw_schema import (
    LOAD_HISTORY_DDL,
    LOAD_HISTORY_TABLE,
    RAW_SCHEMA,
    RAW_TABLES,
)
from finsight_release.reference.synthetic_sql import (
    GenerationPlan,
    fill_statements,
    load_history_sql,
    macros_sql,
)

# Fixed so that data (and its fingerprint) never depends on the clock. Pass ``as_of=datetime.now()``
# when source freshness should pass against the generated data.
DEFAULT_AS_OF = datetime(2025, 1, 1)


def generate_warehouse(
    duckdb_path: Path, scale: int = 1, seed: int = 7, *, as_of: datetime = DEFAULT_AS_OF
) -> dict[str, int]:
    """Create schema ``raw`` in ``duckdb_path`` and (re)fill its 12 raw tables plus ``raw._load_history``.

    Everything happens in one transaction: a failure rolls back to the previous raw tables, so no
    reader ever sees a partial table.

    Args:
        duckdb_path: The DuckDB file (created with its parent directories when missing).
        scale: Linear size factor; 1 gives a few thousand rows (well under a second), 100 ~700k rows.
        seed: Seed of every pseudo-random draw.
        as_of: Activity ends an hour before this moment and spans the 180 days before it.

    Returns:
        Row count per raw table, keyed by ``<source>__<table>``.

    Examples:
        >>> counts = generate_warehouse(Path("/tmp/finsight.duckdb"), scale=1, seed=7)
        >>> counts["core_banking__transactions"]
        2000
    """
    if scale < 1:
        raise SyntheticDataError(f"scale must be a positive integer, got {scale}")
    plan = GenerationPlan.for_scale(scale, seed, as_of)
    duckdb_path = Path(duckdb_path)
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with duckdb.connect(str(duckdb_path)) as con:
            for macro in macros_sql(seed):
                con.execute(macro)
            con.execute("BEGIN TRANSACTION")
            try:
                _fill(con, plan)
                counts = row_counts(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SyntheticDataError(
            f"generating raw data in {duckdb_path} failed: {first_line}"
        ) from exc
    return counts


def _fill(con: duckdb.DuckDBPyConnection, plan: GenerationPlan) -> None:
    """Recreate and fill every raw table, in dependency order, on an open transaction."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for table in RAW_TABLES:
        con.execute(table.create_sql())
    con.execute(f"DROP TABLE IF EXISTS {RAW_SCHEMA}.{LOAD_HISTORY_TABLE}")
    con.execute(LOAD_HISTORY_DDL)
    for statement in fill_statements(plan).values():
        con.execute(statement)
    con.execute(load_history_sql())


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per raw table on an open connection."""
    counts: dict[str, int] = {}
    for table in RAW_TABLES:
        row = con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{table.name}").fetchone()
        counts[table.name] = int(row[0]) if row else 0
    return counts


def table_fingerprints(duckdb_path: Path) -> dict[str, str]:
    """md5 over each raw table's rows in primary-key order: equal fingerprints mean equal contents."""
    fingerprints: dict[str, str] = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        for table in RAW_TABLES:
            order = ", ".join(table.primary_key)
            row = con.execute(
                f"SELECT md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY {order}), '')) "
                f"FROM {RAW_SCHEMA}.{table.name} AS t"
            ).fetchone()
            fingerprints[table.name] = str(row[0]) if row else ""
    return fingerprints
