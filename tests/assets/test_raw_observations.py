"""Raw tables as observed assets: each environment's raw layer read through a real resource (DuckDB
locally, dagster-snowflake's SnowflakeResource on fakesnow for AWS mode), one observation per table
in the environment's partition; Dagster's freshness checks from the dbt sources' SLAs judge them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import fakesnow
import snowflake.connector
from dagster_snowflake import SnowflakeResource

from finsight_release.assets.raw_observations import (
    DuckDbRawWarehouse,
    observe_raw_tables_job,
    raw_freshness_checks,
    source_slas,
)
from finsight_release.assets.snowflake_raw_warehouse import SnowflakeRawWarehouse
from finsight_release.reference.synthetic import generate_warehouse

REPO = Path(__file__).resolve().parents[2]
PAYMENTS = dg.AssetKey(["raw", "payments__payments"])


def observations(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[dg.AssetObservation]:
    records = instance.fetch_observations(dg.AssetRecordsFilter(asset_key=key), limit=10).records
    return [r.asset_observation for r in records if r.asset_observation is not None]


def test_duckdb_observation_per_table_and_environment(tmp_path: Path) -> None:
    generate_warehouse(tmp_path / "dev.duckdb")
    with duckdb.connect(str(tmp_path / "dev.duckdb"), read_only=True) as con:
        count, newest = con.execute(
            "select count(*), max(_loaded_at) from raw.payments__payments"
        ).fetchone()  # type: ignore[misc]
    instance = dg.DagsterInstance.ephemeral()
    result = observe_raw_tables_job.execute_in_process(
        run_config={"ops": {"observe_raw_tables": {"config": {"envs": ["dev", "staging"]}}}},
        resources={"raw_warehouse": DuckDbRawWarehouse(warehouse_dir=str(tmp_path))},
        instance=instance,
    )
    assert result.success
    (seen,) = observations(instance, PAYMENTS)
    assert seen.partition == "dev"  # staging has no warehouse yet: not observed, not failed
    assert seen.metadata["row_count"].value == count
    assert seen.metadata["max_loaded_at"].value == str(newest)
    assert seen.metadata["last_load"].value == ""  # loaded by Postgres MERGE, not by files
    stamp = seen.metadata["dagster/last_updated_timestamp"].value
    assert stamp == newest.replace(tzinfo=UTC).timestamp()
    fx = observations(instance, dg.AssetKey(["raw", "s3_market__fx_rates"]))
    assert fx and fx[0].metadata["last_load"].value  # file loads come from raw._load_history


def test_snowflake_observation_through_dagster_snowflake_on_fakesnow() -> None:
    with fakesnow.patch():
        with snowflake.connector.connect() as con:
            cur = con.cursor()
            cur.execute("create database raw_staging")
            cur.execute("use database raw_staging")
            cur.execute("create schema payments")
            cur.execute(
                "create table payments.payments "
                "(payment_id int, status varchar, updated_at timestamp, _loaded_at timestamp)"
            )
            cur.execute(
                "insert into payments.payments values "
                "(1, 'succeeded', '2025-01-01 10:00', '2025-01-01 11:00'), "
                "(2, 'failed', '2025-01-02 10:00', '2025-01-02 11:30')"
            )
        warehouse = SnowflakeRawWarehouse(
            snowflake=SnowflakeResource(account="finsight", user="observer", password="x"),
            databases={"staging": "raw_staging"},
        )
        instance = dg.DagsterInstance.ephemeral()
        result = observe_raw_tables_job.execute_in_process(
            run_config={"ops": {"observe_raw_tables": {"config": {"envs": ["staging"]}}}},
            resources={"raw_warehouse": warehouse},
            instance=instance,
        )
    assert result.success
    (seen,) = observations(instance, PAYMENTS)
    assert seen.partition == "staging" and seen.metadata["row_count"].value == 2
    assert seen.metadata["max_updated_at"].value == "2025-01-02 10:00:00"
    assert seen.metadata["max_loaded_at"].value == "2025-01-02 11:30:00"


def test_freshness_checks_come_from_the_source_slas_and_read_the_observations() -> None:
    slas = source_slas(REPO)
    assert PAYMENTS in slas[(48.0, 24.0)]
    checks = raw_freshness_checks(REPO)
    keys = {key for check in checks for key in check.check_keys}
    assert dg.AssetCheckKey(PAYMENTS, "freshness_check") in keys
    (check,) = [c for c in checks if dg.AssetCheckKey(PAYMENTS, "freshness_check") in c.check_keys]
    defs = dg.Definitions(
        assets=[dg.AssetSpec(PAYMENTS)],
        asset_checks=[check],
        jobs=[dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(check))],
    )
    job = defs.resolve_job_def("freshness")

    def verdict(loaded: datetime) -> dg.AssetCheckEvaluation:
        instance = dg.DagsterInstance.ephemeral()
        instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=PAYMENTS,
                metadata={"dagster/last_updated_timestamp": dg.MetadataValue.timestamp(loaded)},
            )
        )
        result = job.execute_in_process(instance=instance)
        (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.asset_key == PAYMENTS]
        return evaluation

    late = verdict(datetime(2025, 1, 1, tzinfo=UTC))
    assert not late.passed and late.severity == dg.AssetCheckSeverity.WARN
    fresh = verdict(datetime.fromtimestamp(time.time() - 3600, tz=UTC))
    assert fresh.passed
