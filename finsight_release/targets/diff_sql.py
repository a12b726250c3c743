"""The SQL of a data diff, written once as a sqlglot syntax tree and rendered in a warehouse's dialect.

Both warehouses run the same two queries (:mod:`finsight_release.targets.data_diff` reads them): a
profile of one relation (its row count, then per column the NULL count and, for numeric columns, the
sum as a double) and the size of a key set difference (``EXCEPT``). Only the rendering differs:
``duckdb`` for the embedded warehouse, ``snowflake`` for AWS mode. Columns are quoted as the
catalog spells them (Snowflake upper-cases unquoted names, so a quoted catalog name always matches);
schema and relation names are bare when they are simple identifiers, as both targets create them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

# Numeric type names as the two catalogs spell them (DuckDB's, and Snowflake's NUMBER / FLOAT).
NUMERIC_TYPES = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "INT",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "DOUBLE",
        "FLOAT",
        "REAL",
        "DECIMAL",
        "NUMERIC",
        "NUMBER",
    }
)


def is_numeric(data_type: str) -> bool:
    """``data_type`` (as a catalog spells it, parameters allowed: ``DECIMAL(12,2)``) is numeric."""
    return data_type.upper().split("(")[0].strip() in NUMERIC_TYPES


def _relation(schema: str, relation: str) -> exp.Table:
    return exp.table_(relation, db=schema)


def _column(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def profile_query(
    schema: str, relation: str, columns: Sequence[tuple[str, str]], dialect: str
) -> str:
    """One row: ``COUNT(*)``, then per column of ``columns`` (name, data type) its NULL count and the
    sum of a numeric column as a double (NULL for the others)."""
    parts: list[exp.Expression] = [exp.Count(this=exp.Star())]
    for name, data_type in columns:
        column = _column(name)
        parts.append(exp.Sub(this=exp.Count(this=exp.Star()), expression=exp.Count(this=column)))
        parts.append(
            exp.cast(exp.Sum(this=column.copy()), "DOUBLE") if is_numeric(data_type) else exp.Null()
        )
    # Each output column named: fakesnow builds rows by column name and would merge two ``NULL``s.
    named = [exp.alias_(part, f"m{i}") for i, part in enumerate(parts)]
    return exp.select(*named).from_(_relation(schema, relation)).sql(dialect=dialect)


def key_delta_query(schema: str, left: str, right: str, key: Sequence[str], dialect: str) -> str:
    """The number of distinct ``key`` values relation ``left`` has and ``right`` has not."""
    columns = [_column(k) for k in key]
    mine = exp.select(*columns).from_(_relation(schema, left))
    theirs = exp.select(*(c.copy() for c in columns)).from_(_relation(schema, right))
    delta = exp.except_(mine, theirs).subquery("delta")
    return exp.select(exp.Count(this=exp.Star())).from_(delta).sql(dialect=dialect)
