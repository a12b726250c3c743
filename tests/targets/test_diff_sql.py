"""The data diff's SQL is generated once and runs on both warehouses: the same two relations, loaded
into DuckDB and into fakesnow's Snowflake, give the same diff, and the same thresholds block it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import fakesnow
import pytest
import snowflake.connector

from finsight_release.targets.data_diff import DiffSource, ModelDiff, diff_model
from finsight_release.targets.diff_sql import is_numeric, key_delta_query, profile_query
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA, ModelVersion
from finsight_release.targets.snowflake_state import SnowflakeDiffStore
from finsight_release.targets.warehouse_state import DuckDbDiffStore

LIVE, NEW = "fct_payments__aaaaaaaaaaaa", "fct_payments__bbbbbbbbbbbb"
# The live mart, then a new version that lost payment 103, gained 105, and NULLs one amount.
TABLES = {
    LIVE: "(100, 10.50, 'settled', 'EUR'), (101, 20.00, 'settled', 'EUR'), "
    "(102, 5.25, 'failed', 'USD'), (103, 7.00, 'settled', NULL)",
    NEW: "(100, 10.50, 'settled', 'EUR'), (101, 20.00, 'settled', 'EUR'), "
    "(102, NULL, 'failed', 'USD'), (105, 1.00, 'settled', 'USD')",
}
MODEL = ModelVersion(
    unique_id="model.mini.fct_payments",
    name="fct_payments",
    resource_type="model",
    materialized="table",
    fingerprint="b" * 64,
    published_schema="analytics",
    published_name="fct_payments",
    meta={"finsight": {"diff": {"max_keys_removed": 0, "max_null_rate_increase": 0.1}}},
    key=("payment_id",),
)


def load(execute: Any) -> None:
    execute(f"CREATE SCHEMA IF NOT EXISTS {PHYSICAL_SCHEMA}")
    for name, values in TABLES.items():
        execute(
            f"CREATE TABLE {PHYSICAL_SCHEMA}.{name} "
            "(payment_id INTEGER, amount DECIMAL(12, 2), status VARCHAR, currency VARCHAR)"
        )
        execute(f"INSERT INTO {PHYSICAL_SCHEMA}.{name} VALUES {values}")


@pytest.fixture
def duck() -> Iterator[DiffSource]:
    with duckdb.connect() as con:
        load(con.execute)
        yield DuckDbDiffStore(con)


@pytest.fixture
def snow() -> Iterator[DiffSource]:
    with fakesnow.patch(), snowflake.connector.connect(database="ANALYTICS_DEV") as con:
        cur = con.cursor()
        load(cur.execute)
        yield SnowflakeDiffStore(cur)


def test_the_same_relations_give_the_same_diff_on_duckdb_and_on_snowflake(
    duck: DiffSource, snow: DiffSource
) -> None:
    on_duckdb = diff_model(duck, PHYSICAL_SCHEMA, MODEL, LIVE)
    on_snowflake = diff_model(snow, PHYSICAL_SCHEMA, MODEL, LIVE)
    assert on_snowflake == on_duckdb  # column names reported in lower case on both
    assert (on_duckdb.rows_live, on_duckdb.rows_new) == (4, 4)
    assert (on_duckdb.keys_added, on_duckdb.keys_removed) == (1, 1)
    amount = {c.column: c for c in on_duckdb.columns}["amount"]
    assert (amount.sum_live, amount.sum_new, amount.null_rate_new) == (42.75, 31.5, 0.25)
    assert {c.column: c.sum_new for c in on_duckdb.columns}["status"] is None  # not numeric
    currency = {c.column: c for c in on_duckdb.columns}["currency"]  # a second text column
    assert (currency.null_rate_live, currency.null_rate_new) == (0.25, 0.0)
    assert on_duckdb.violations == (
        "1 keys removed > 0",
        "amount null rate 0.000 -> 0.250",
    )
    assert ModelDiff.model_validate_json(on_snowflake.model_dump_json()).blocking


def test_the_queries_are_one_tree_rendered_per_dialect() -> None:
    columns = [("PAYMENT_ID", "NUMBER"), ("STATUS", "TEXT"), ("CURRENCY", "TEXT")]
    assert profile_query(PHYSICAL_SCHEMA, NEW, columns, "snowflake") == (
        'SELECT COUNT(*) AS m0, COUNT(*) - COUNT("PAYMENT_ID") AS m1, '
        'CAST(SUM("PAYMENT_ID") AS DOUBLE) AS m2, COUNT(*) - COUNT("STATUS") AS m3, NULL AS m4, '
        f'COUNT(*) - COUNT("CURRENCY") AS m5, NULL AS m6 FROM finsight_physical.{NEW}'
    )
    assert key_delta_query(PHYSICAL_SCHEMA, NEW, LIVE, ["payment_id"], "duckdb") == (
        f'SELECT COUNT(*) FROM (SELECT "payment_id" FROM finsight_physical.{NEW} EXCEPT '
        f'SELECT "payment_id" FROM finsight_physical.{LIVE}) AS delta'
    )
    assert all(is_numeric(t) for t in ("NUMBER", "DECIMAL(12,2)", "FLOAT", "BIGINT", "double"))
    assert not any(is_numeric(t) for t in ("TEXT", "VARCHAR", "DATE", "TIMESTAMP_NTZ", "BOOLEAN"))
