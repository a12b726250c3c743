"""The post-deploy judge on a Snowflake environment (fakesnow): the release its database publishes is
judged by its dbt tests, its contracts (the contract files beside the dbt project, evaluated through
the connector) and source freshness, in Snowflake SQL. A good release passes; an empty mart, a
duplicate key, a value outside its valid set fail with the check named; late data is inconclusive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import fakesnow
import pytest
import snowflake.connector

from finsight_release.checks.connector_contracts import evaluate_contract
from finsight_release.checks.judge import ReleaseJudgement, run_release_checks
from finsight_release.checks.snowflake_checks import catalog_columns
from finsight_release.envs.environment import Environment
from finsight_release.errors import NothingPublishedError
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.local import LocalObjectStore
from finsight_release.targets.warehouse_by_environment import WarehouseByEnvironment
from tests.targets.test_snowflake_warehouse import (
    DATABASES,
    PROJECT,
    Releases,
    Warehouse,
    make_warehouse,
    seed,
)

DEV = Environment.DEV
LOADED = datetime(2026, 1, 1, 12, 0)  # half a day after the seeded accounts' updated_at
JUDGED = {
    **PROJECT,
    "dbt_project/models/_sources.yml": (
        "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n"
        "      - name: core_banking__accounts\n        config:\n          loaded_at_field: updated_at\n"
        "          freshness:\n            warn_after: {count: 24, period: hour}\n"
        "            error_after: {count: 48, period: hour}\n"
        "      - name: payments__payments\n"
    ),
    "dbt_project/contracts/fct_payments.yml": (
        "dataset: finsight/analytics_marts_x/fct_payments\n"
        "columns:\n  - name: payment_id\n    data_type: BIGINT\n    checks:\n      - missing:\n"
        "      - duplicate:\n  - name: amount\n    data_type: DECIMAL\n"
        "  - name: customer_id\n    data_type: INTEGER\n"
        "checks:\n  - schema:\n  - row_count:\n      threshold:\n        must_be_greater_than: 0\n"
    ),
    "dbt_project/contracts/dim_accounts.yml": (
        "dataset: finsight/analytics_marts_x/dim_accounts\n"
        "checks:\n  - duplicate:\n      columns: [account_id, customer_id]\n"
    ),
    "dbt_project/contracts/raw__payments__payments.yml": (
        "dataset: finsight/raw/payments__payments\n"
        "columns:\n  - name: status\n    checks:\n      - invalid:\n"
        "          valid_values: [settled, failed]\n"
        "checks:\n  - row_count:\n"
    ),
}


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    root = tmp_path_factory.mktemp("snowflake-judge")
    return Releases(root, ReleaseRepository(LocalObjectStore(root / "store")), {})


@pytest.fixture
def warehouse(releases: Releases) -> Iterator[Warehouse]:
    """dev's Snowflake database publishing the judged release."""
    with fakesnow.patch():
        seed(DATABASES[DEV])
        wh = make_warehouse(releases)
        wh.deploy(releases.get("judged", JUDGED))
        yield wh


def judge(warehouse: Warehouse, tmp_path: Path, now: datetime = LOADED) -> ReleaseJudgement:
    """The judge as ``ReleaseSystem.judge`` runs it on AWS mode's warehouse target."""
    target = WarehouseByEnvironment(tmp_path / "duckdb", tmp_path / "projects", warehouse.target)
    judgement = run_release_checks(target, DEV, now)
    assert not (tmp_path / "duckdb").exists()  # nothing was read from or written to DuckDB
    return judgement


def physical(warehouse: Warehouse, releases: Releases, model: str) -> str:
    return (
        warehouse.plan(releases.get("judged", JUDGED)).by_id()[f"model.mini.{model}"].physical_name
    )


def test_a_good_release_passes_every_check_each_naming_the_release(
    warehouse: Warehouse, releases: Releases, tmp_path: Path
) -> None:
    judgement = judge(warehouse, tmp_path)
    assert judgement.healthy, judgement.summary()
    release = releases.get("judged", JUDGED).release_id
    assert judgement.release_id == release and {r.release_id for r in judgement.results} == {
        release
    }
    assert {r.kind for r in judgement.results} == {"dbt_test", "contract", "freshness"}
    contracts = {(r.asset, r.name) for r in judgement.results if r.kind == "contract"}
    assert contracts == {
        ("analytics_marts_x.fct_payments", "payment_id.missing"),
        ("analytics_marts_x.fct_payments", "payment_id.duplicate"),
        ("analytics_marts_x.fct_payments", "schema"),
        ("analytics_marts_x.fct_payments", "row_count"),
        ("analytics_marts_x.dim_accounts", "duplicate"),
        ("raw.payments__payments", "status.invalid"),
        ("raw.payments__payments", "row_count"),
    }
    tests = {r.name for r in judgement.results if r.kind == "dbt_test"}
    assert tests == {"not_null_fct_payments_payment_id", "unique_fct_payments_payment_id"}
    (fresh,) = [r for r in judgement.results if r.kind == "freshness"]
    assert fresh.asset == "raw.core_banking__accounts" and "12.0 h old" in fresh.detail


def test_an_empty_mart_fails_its_row_count_contract(
    warehouse: Warehouse, releases: Releases, tmp_path: Path
) -> None:
    warehouse.query(
        f"DELETE FROM finsight_physical.{physical(warehouse, releases, 'fct_payments')}"
    )
    judgement = judge(warehouse, tmp_path)
    assert judgement.verdict == "failed"
    blocking = {(r.kind, r.asset, r.name): r.detail for r in judgement.blocking}
    assert blocking == {
        ("contract", "analytics_marts_x.fct_payments", "row_count"): "failed, measured 0"
    }


def test_a_duplicate_key_and_an_invalid_value_fail_with_the_checks_named(
    warehouse: Warehouse, releases: Releases, tmp_path: Path
) -> None:
    fct = f"finsight_physical.{physical(warehouse, releases, 'fct_payments')}"
    warehouse.query(f"INSERT INTO {fct} SELECT * FROM {fct} WHERE payment_id = 100")
    dim = f"finsight_physical.{physical(warehouse, releases, 'dim_accounts')}"
    warehouse.query(f"INSERT INTO {dim} SELECT * FROM {dim} WHERE account_id = 1")
    warehouse.query("INSERT INTO raw.payments__payments VALUES (104, 1, 1.00, 'bogus')")
    judgement = judge(warehouse, tmp_path)
    blocking = {(r.kind, r.name): r.detail for r in judgement.blocking}
    assert blocking == {
        ("contract", "payment_id.duplicate"): "failed, measured 1",
        ("contract", "duplicate"): "failed, measured 1",  # dim_accounts (account_id, customer_id)
        ("contract", "status.invalid"): "failed, measured 1",
        ("dbt_test", "unique_fct_payments_payment_id"): "1 failing row(s)",
    }
    assert "blocking" in judgement.summary() and "payment_id.duplicate" in judgement.summary()


def test_late_source_data_is_inconclusive_not_a_failure(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    late = judge(warehouse, tmp_path, now=datetime(2026, 1, 4))
    assert late.verdict == "inconclusive" and not late.blocking
    (result,) = late.inconclusive
    assert result.kind == "freshness" and "error after 48 h" in result.detail


def test_nothing_published_is_one_clear_error(releases: Releases, tmp_path: Path) -> None:
    with fakesnow.patch():
        wh = make_warehouse(releases)
        target = WarehouseByEnvironment(tmp_path / "duckdb", tmp_path / "projects", wh.target)
        with pytest.raises(NothingPublishedError, match="dev publishes no release in Snowflake"):
            run_release_checks(target, DEV)


CONTRACT = (
    "dataset: finsight/analytics/payments\n"
    "columns:\n  - name: payment_id\n    data_type: BIGINT\n    checks:\n"
    "      - missing:\n          missing_values: [-1]\n"  # an option not evaluated here
    "  - name: amount\n    data_type: VARCHAR\n  - name: currency\n"
    "checks:\n  - schema:\n  - freshness:\n      column: created_at\n"
    "  - row_count:\n      threshold:\n        must_be_between: {greater_than: 0, less_than: 9}\n"
)


def test_schema_drift_fails_and_what_is_not_evaluated_here_is_inconclusive(
    tmp_path: Path,
) -> None:
    contract = tmp_path / "payments.yml"
    contract.write_text(CONTRACT)
    with fakesnow.patch(), snowflake.connector.connect(database="ANALYTICS_DEV") as con:
        cur = con.cursor()
        cur.execute("CREATE SCHEMA analytics")
        cur.execute("CREATE TABLE analytics.payments (amount NUMBER(12, 2), payment_id INT, x INT)")
        cur.execute("INSERT INTO analytics.payments VALUES (1.50, 1, 0)")

        def resolve(schema: str, name: str) -> tuple[str, str, str] | None:
            return ("", schema, name) if (schema, name) == ("analytics", "payments") else None

        results = evaluate_contract(
            contract, cur, resolve, lambda r: catalog_columns(cur, r), "r-1", "dev"
        )
        missing = evaluate_contract(
            tmp_path / "payments.yml", cur, lambda s, n: None, lambda r: [], "r-1", "dev"
        )
    by_name = {r.name: r for r in results}
    schema = by_name["schema"]
    assert schema.blocks and schema.detail == (
        "failed, measured 4: missing column currency; extra column x; columns in another order; "
        "amount is NUMBER, contract says VARCHAR (TEXT on Snowflake)"
    )
    assert by_name["payment_id.missing"].inconclusive
    assert "option missing_values" in by_name["payment_id.missing"].detail
    assert (
        by_name["freshness"].inconclusive and "check type freshness" in by_name["freshness"].detail
    )
    assert by_name["row_count"].inconclusive and "must_be_between" in by_name["row_count"].detail
    (unrun,) = missing
    assert unrun.inconclusive and unrun.detail == (
        "contract did not run: dataset finsight/analytics/payments not found"
    )
