"""Raw loads are idempotent: MERGE on key for PostgreSQL batches, file-keyed COPY for S3 files (DuckDB)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

DAGS_DIR = Path(__file__).resolve().parents[2] / "release_assets" / "airflow" / "dags"
if str(DAGS_DIR) not in sys.path:
    sys.path.insert(0, str(DAGS_DIR))

from finsight_platform.load_sql import LoadInterval, build_merge, snowflake_target  # noqa: E402
from finsight_platform.local_load import run_load  # noqa: E402
from finsight_platform.specs import find_table  # noqa: E402

DAY = datetime(2024, 3, 1)
FIRST_HOUR = LoadInterval.from_datetimes(DAY, DAY + timedelta(hours=1))
SECOND_HOUR = LoadInterval.from_datetimes(DAY + timedelta(hours=1), DAY + timedelta(hours=2))
BOTH_HOURS = LoadInterval.from_datetimes(DAY, DAY + timedelta(hours=2))


@pytest.fixture
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def account(account_id: int, status: str, updated_at: datetime) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "customer_id": 100 + account_id,
        "account_type": "current",
        "currency": "EUR",
        "status": status,
        "opened_at": DAY - timedelta(days=30),
        "updated_at": updated_at,
    }


def statuses(connection: duckdb.DuckDBPyConnection) -> dict[int, str]:
    return dict(
        connection.execute("SELECT account_id, status FROM raw.core_banking__accounts").fetchall()
    )


def test_loading_the_same_interval_twice_keeps_the_row_count(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    spec = find_table("core_banking__accounts")
    batch = [account(i, "open", DAY + timedelta(minutes=i)) for i in range(1, 6)]
    first = run_load(warehouse, spec, batch, FIRST_HOUR)
    retry = run_load(warehouse, spec, batch, FIRST_HOUR)
    assert (first.rows_before, first.rows_after) == (0, 5)
    assert (retry.rows_before, retry.rows_after) == (5, 5)
    batch_ids = warehouse.execute(
        "SELECT DISTINCT _batch_id FROM raw.core_banking__accounts"
    ).fetchall()
    assert batch_ids == [(f"local:{FIRST_HOUR.start}/{FIRST_HOUR.end}",)]


def test_updated_rows_take_the_latest_values(warehouse: duckdb.DuckDBPyConnection) -> None:
    spec = find_table("core_banking__accounts")
    run_load(
        warehouse,
        spec,
        [account(i, "open", DAY + timedelta(minutes=i)) for i in range(1, 6)],
        FIRST_HOUR,
    )
    later = DAY + timedelta(hours=1, minutes=10)
    result = run_load(
        warehouse, spec, [account(2, "frozen", later), account(6, "open", later)], SECOND_HOUR
    )
    assert result.rows_after == 6
    assert statuses(warehouse)[2] == "frozen"


def test_an_overlapping_backfill_neither_duplicates_nor_reverts_rows(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    spec = find_table("core_banking__accounts")
    original = [account(i, "open", DAY + timedelta(minutes=i)) for i in range(1, 6)]
    later = DAY + timedelta(hours=1, minutes=10)
    run_load(warehouse, spec, original, FIRST_HOUR)
    run_load(warehouse, spec, [account(2, "closed", later)], SECOND_HOUR)
    # The backfill's staged batch still holds the old version of account 2 next to the new one.
    backfill = run_load(warehouse, spec, [*original, account(2, "closed", later)], BOTH_HOURS)
    assert (backfill.rows_before, backfill.rows_after) == (5, 5)
    assert statuses(warehouse) == {1: "open", 2: "closed", 3: "open", 4: "open", 5: "open"}
    # Replaying only the older interval must not overwrite the newer version either.
    run_load(warehouse, spec, original, FIRST_HOUR)
    assert statuses(warehouse)[2] == "closed"


def test_duplicate_keys_in_a_batch_keep_the_newest_version(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    spec = find_table("core_banking__accounts")
    batch = [
        account(1, "open", DAY + timedelta(minutes=1)),
        account(1, "blocked", DAY + timedelta(minutes=50)),
    ]
    assert run_load(warehouse, spec, batch, FIRST_HOUR).rows_after == 1
    assert statuses(warehouse) == {1: "blocked"}


def test_rows_outside_the_interval_are_not_loaded(warehouse: duckdb.DuckDBPyConnection) -> None:
    spec = find_table("core_banking__accounts")
    batch = [
        account(1, "open", DAY + timedelta(minutes=5)),
        account(2, "open", DAY + timedelta(hours=3)),
    ]
    assert run_load(warehouse, spec, batch, FIRST_HOUR).rows_after == 1


def test_a_staging_table_already_in_the_warehouse_can_be_merged(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    spec = find_table("payments__payments")
    warehouse.execute(
        "CREATE TABLE staged_payments AS SELECT i::BIGINT AS payment_id, 1::BIGINT AS account_id, "
        "2::BIGINT AS merchant_id, 9.99::DECIMAL(18,2) AS amount, 'EUR' AS currency, 'card' AS method, "
        "'settled' AS status, TIMESTAMP '2024-03-01 00:10:00' AS created_at, "
        "TIMESTAMP '2024-03-01 00:20:00' AS updated_at FROM range(1, 11) AS r(i)"
    )
    assert run_load(warehouse, spec, "staged_payments", FIRST_HOUR).rows_after == 10
    assert run_load(warehouse, spec, "staged_payments", FIRST_HOUR).rows_after == 10


def test_the_same_s3_file_is_never_loaded_twice(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    spec = find_table("s3_market__fx_rates")
    day_one = tmp_path / "fx_rates_2024-03-01.csv"
    day_one.write_text("rate_date,currency,usd_rate\n2024-03-01,EUR,1.08\n2024-03-01,GBP,1.27\n")
    first = run_load(warehouse, spec, [day_one])
    again = run_load(warehouse, spec, [day_one, day_one])
    assert (first.rows_after, first.files_loaded) == (2, (str(day_one),))
    assert (again.rows_after, again.files_loaded) == (2, ())
    day_two = tmp_path / "fx_rates_2024-03-02.csv"
    day_two.write_text("rate_date,currency,usd_rate\n2024-03-02,EUR,1.09\n")
    assert run_load(warehouse, spec, [day_one, day_two]).files_loaded == (str(day_two),)
    history = warehouse.execute(
        "SELECT file_name FROM raw._load_history ORDER BY file_name"
    ).fetchall()
    assert history == [(str(day_one),), (str(day_two),)]
    file_names = warehouse.execute(
        "SELECT DISTINCT _file_name FROM raw.s3_market__fx_rates"
    ).fetchall()
    assert len(file_names) == 2


def test_parquet_event_files_are_keyed_by_file_name(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    spec = find_table("s3_events__card_authorizations")
    events = tmp_path / "card_authorizations_0001.parquet"
    warehouse.execute(
        "COPY (SELECT 'auth-' || i AS auth_id, i::BIGINT AS account_id, 7::BIGINT AS merchant_id, "
        "12.5::DECIMAL(18,2) AS amount, 'EUR' AS currency, i % 2 = 0 AS approved, "
        f"TIMESTAMP '2024-03-01 10:00:00' AS event_ts FROM range(3) AS r(i)) TO '{events}' (FORMAT PARQUET)"
    )
    assert run_load(warehouse, spec, [events]).rows_after == 3
    assert run_load(warehouse, spec, [events]).rows_after == 3


def test_the_merge_is_valid_snowflake_sql() -> None:
    spec = find_table("core_banking__transactions")
    sql = build_merge(
        spec,
        target=snowflake_target(spec, "RAW_PROD"),
        staging="RAW_PROD.core_banking._stage_transactions",
        interval=FIRST_HOUR,
        batch_id="run-1",
    )
    statement = sqlglot.parse_one(sql, read="snowflake")
    assert statement.key == "merge"
