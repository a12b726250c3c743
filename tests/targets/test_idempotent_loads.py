"""Idempotent loads, proven on an environment's warehouse (issue 15, part 8).

After a promotion and after a rollback, the platform's own load (``finsight_platform.local_load``:
MERGE on the primary key from a staged interval batch, the SQL the ingestion DAGs run) is run into
the environment's DuckDB warehouse, then re-run (a retry) and backfilled over the same interval: row
counts and key uniqueness of the raw table, and the row count of the published staging view that
reads it, stay what the first load made them. The same scenario with an append-only load (the MERGE
replaced by an INSERT of the staged batch) breaks the invariant, so the check can fail.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from finsight_release.envs.environment import Environment
from tests.targets.warehouse_project import DEV, STG_ACCOUNTS_V2, Project, make_project

DAGS_DIR = Path(__file__).resolve().parents[2] / "release_assets" / "airflow" / "dags"
if str(DAGS_DIR) not in sys.path:
    sys.path.insert(0, str(DAGS_DIR))

from finsight_platform.load_sql import LoadInterval, local_target  # noqa: E402
from finsight_platform.local_load import run_load  # noqa: E402
from finsight_platform.specs import TableSpec, find_table  # noqa: E402

# The hour after the synthetic data ends (its newest payment update is 2024-12-31 05:57).
HOUR = datetime(2025, 1, 1, 9)
INTERVAL = LoadInterval.from_datetimes(HOUR, HOUR + timedelta(hours=1))
# A backfill re-extracts the day around the hour: its staged batch holds the same rows again.
BACKFILL = LoadInterval.from_datetimes(HOUR - timedelta(hours=9), HOUR + timedelta(hours=15))
NEW_IDS = range(20_000_001, 20_000_006)

Loader = Callable[[duckdb.DuckDBPyConnection, TableSpec, list[dict[str, Any]], LoadInterval], None]


def payment(payment_id: int, minute: int, status: str = "succeeded") -> dict[str, Any]:
    return {
        "payment_id": payment_id,
        "account_id": 1,
        "merchant_id": 1,
        "amount": 12.5,
        "currency": "EUR",
        "method": "card",
        "status": status,
        "created_at": HOUR + timedelta(minutes=minute),
        "updated_at": HOUR + timedelta(minutes=minute),
    }


def batch() -> list[dict[str, Any]]:
    """New payments of the hour, and an update of a payment loaded long before (id 1)."""
    return [payment(i, n) for n, i in enumerate(NEW_IDS)] + [payment(1, 30, "failed")]


def merge_load(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    rows: list[dict[str, Any]],
    interval: LoadInterval,
) -> None:
    """The platform's load: MERGE on the primary key (what the DAGs run)."""
    run_load(con, spec, rows, interval, batch_id=f"run:{interval.start}")


def append_load(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    rows: list[dict[str, Any]],
    interval: LoadInterval,
) -> None:
    """A load that appends the staged batch (the MERGE replaced by an INSERT): not idempotent."""
    columns = ", ".join(spec.column_names)
    con.executemany(
        f"insert into {local_target(spec)} ({columns}) values "
        f"({', '.join('?' for _ in spec.column_names)})",
        [[row[c] for c in spec.column_names] for row in rows],
    )


def counts(project: Project, env: Environment) -> tuple[int, int, int]:
    """(raw rows, distinct raw keys, rows of the published staging view) of payments."""
    with duckdb.connect(str(project.target.database(env)), read_only=True) as con:
        raw = con.execute(
            "select count(*), count(distinct payment_id) from raw.payments__payments"
        ).fetchone()
        published = con.execute("select count(*) from analytics.stg_payments").fetchone()
    assert raw and published
    return int(raw[0]), int(raw[1]), int(published[0])


def load_retry_and_backfill(
    project: Project, env: Environment, load: Loader
) -> list[tuple[int, int, int]]:
    """Counts after the load, after its retry and after a backfill of the same interval."""
    spec = find_table("payments__payments")
    seen = []
    for interval in (INTERVAL, INTERVAL, BACKFILL):
        with duckdb.connect(str(project.target.database(env))) as con:
            load(con, spec, batch(), interval)
        seen.append(counts(project, env))
    return seen


def assert_idempotent(seen: list[tuple[int, int, int]]) -> None:
    first = seen[0]
    assert all(s == first for s in seen), f"row counts moved on a re-run: {seen}"
    rows, keys, published = first
    assert rows == keys == published, f"duplicate keys: {first}"


def drop_primary_key(project: Project, env: Environment) -> None:
    """Recreate the raw table without its primary key constraint, as Snowflake has it (declared,
    never enforced): only the MERGE, not the warehouse, keeps a re-run from duplicating rows."""
    with duckdb.connect(str(project.target.database(env))) as con:
        con.execute(
            "create or replace table raw.payments__payments as select * from raw.payments__payments"
        )


@pytest.mark.slow
def test_reloads_and_backfills_leave_counts_and_keys_unchanged_after_promote_and_rollback(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    v1, v2 = project.release("v1"), project.release("v2", STG_ACCOUNTS_V2)
    project.deploy(v1)
    drop_primary_key(project, DEV)
    before = counts(project, DEV)
    after_first = load_retry_and_backfill(project, DEV, merge_load)
    assert_idempotent(after_first)
    assert after_first[0][0] == before[0] + len(NEW_IDS)  # the hour's new payments, id 1 updated
    with duckdb.connect(str(project.target.database(DEV)), read_only=True) as con:
        status = con.execute("select status from raw.payments__payments where payment_id = 1")
        assert status.fetchall() == [("failed",)]

    project.deploy(v2)  # a promotion: new model versions over the same raw layer
    assert_idempotent(load_retry_and_backfill(project, DEV, merge_load))
    assert counts(project, DEV) == after_first[0]

    project.switch(v1)  # a rollback: the switch back, then the restored tables' refresh
    project.target.after_live(DEV, v1)
    project.target.wait_for_refresh(DEV, timeout_s=300)
    assert_idempotent(load_retry_and_backfill(project, DEV, merge_load))
    assert counts(project, DEV) == after_first[0]
    with duckdb.connect(str(project.target.database(DEV)), read_only=True) as con:
        marts = con.execute("select count(*) from analytics_marts_x.fct_payments").fetchone()
    assert marts and marts[0] == after_first[0][0]  # the refreshed mart agrees with its sources

    # The control: the same re-runs with the MERGE replaced by an INSERT break the invariant.
    appended = load_retry_and_backfill(project, DEV, append_load)
    with pytest.raises(AssertionError, match="row counts moved"):
        assert_idempotent(appended)
    rows, keys, _ = appended[-1]
    assert rows == keys + 3 * (len(NEW_IDS) + 1)  # every staged row appended once per run
