"""The YAML source definitions of the DAG factory: scale, uniqueness, and the 12 contract tables."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "release_assets" / "airflow" / "dags"
if str(DAGS_DIR) not in sys.path:
    sys.path.insert(0, str(DAGS_DIR))

from finsight_platform.specs import (  # noqa: E402
    SourceDefinitionError,
    find_table,
    load_all_sources,
    load_source,
)

TS, BIG, VC, AMT = "TIMESTAMP", "BIGINT", "VARCHAR", "DECIMAL(18,2)"
# RAW_TABLES.md, written out independently of the generator.
CONTRACT: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "core_banking__customers": (
        ("customer_id",),
        {
            "customer_id": BIG,
            "full_name": VC,
            "email": VC,
            "country": "VARCHAR(2)",
            "segment": VC,
            "kyc_status": VC,
            "created_at": TS,
            "updated_at": TS,
        },
    ),
    "core_banking__accounts": (
        ("account_id",),
        {
            "account_id": BIG,
            "customer_id": BIG,
            "account_type": VC,
            "currency": "VARCHAR(3)",
            "status": VC,
            "opened_at": TS,
            "updated_at": TS,
        },
    ),
    "core_banking__transactions": (
        ("transaction_id",),
        {
            "transaction_id": BIG,
            "account_id": BIG,
            "merchant_id": BIG,
            "amount": AMT,
            "currency": "VARCHAR(3)",
            "direction": VC,
            "status": VC,
            "created_at": TS,
            "updated_at": TS,
        },
    ),
    "payments__payments": (
        ("payment_id",),
        {
            "payment_id": BIG,
            "account_id": BIG,
            "merchant_id": BIG,
            "amount": AMT,
            "currency": "VARCHAR(3)",
            "method": VC,
            "status": VC,
            "created_at": TS,
            "updated_at": TS,
        },
    ),
    "payments__refunds": (
        ("refund_id",),
        {
            "refund_id": BIG,
            "payment_id": BIG,
            "amount": AMT,
            "reason": VC,
            "created_at": TS,
            "updated_at": TS,
        },
    ),
    "payments__chargebacks": (
        ("chargeback_id",),
        {
            "chargeback_id": BIG,
            "payment_id": BIG,
            "amount": AMT,
            "reason_code": VC,
            "status": VC,
            "created_at": TS,
            "updated_at": TS,
        },
    ),
    "merchants__merchants": (
        ("merchant_id",),
        {
            "merchant_id": BIG,
            "merchant_name": VC,
            "mcc": "VARCHAR(4)",
            "country": "VARCHAR(2)",
            "risk_tier": VC,
            "onboarded_at": TS,
            "updated_at": TS,
        },
    ),
    "merchants__merchant_fees": (
        ("fee_id",),
        {
            "fee_id": BIG,
            "merchant_id": BIG,
            "fee_bps": "INTEGER",
            "fixed_fee": "DECIMAL(10,2)",
            "effective_from": "DATE",
            "updated_at": TS,
        },
    ),
    "risk__fraud_scores": (
        ("score_id",),
        {
            "score_id": BIG,
            "transaction_id": BIG,
            "score": "DOUBLE",
            "model_version": VC,
            "scored_at": TS,
            "updated_at": TS,
        },
    ),
    "risk__alerts": (
        ("alert_id",),
        {
            "alert_id": BIG,
            "account_id": BIG,
            "alert_type": VC,
            "severity": VC,
            "created_at": TS,
            "updated_at": TS,
        },
    ),
    "s3_market__fx_rates": (
        ("rate_date", "currency"),
        {
            "rate_date": "DATE",
            "currency": "VARCHAR(3)",
            "usd_rate": "DECIMAL(18,8)",
            "_file_name": VC,
        },
    ),
    "s3_events__card_authorizations": (
        ("auth_id",),
        {
            "auth_id": VC,
            "account_id": BIG,
            "merchant_id": BIG,
            "amount": AMT,
            "currency": "VARCHAR(3)",
            "approved": "BOOLEAN",
            "event_ts": TS,
            "_file_name": VC,
        },
    ),
}
POSTGRES_SOURCES = {
    "core_banking",
    "payments",
    "merchants",
    "risk",
    "cards",
    "lending",
    "crm",
    "compliance",
    "treasury",
}
S3_SOURCES = {"s3_market", "s3_events", "s3_partners"}


def test_the_sources_define_about_2500_distinct_tables_in_about_100_groups() -> None:
    sources = load_all_sources()
    raw_tables = [table.raw_table for source in sources for table in source.tables()]
    assert len(raw_tables) == len(set(raw_tables)), Counter(raw_tables).most_common(3)
    assert 2400 <= len(set(raw_tables)) <= 2600
    groups = [group for source in sources for group in source.groups]
    assert len(groups) == 100
    assert all(15 <= len(group.tables) <= 35 for group in groups)


def test_sources_cover_the_postgres_databases_and_s3_prefixes() -> None:
    sources = {source.name: source for source in load_all_sources()}
    assert POSTGRES_SOURCES | S3_SOURCES == set(sources)
    for name in POSTGRES_SOURCES:
        assert sources[name].kind == "postgres" and sources[name].conn_id == f"postgres_{name}"
    for name in S3_SOURCES:
        assert sources[name].kind == "s3"
        assert all(table.prefix and table.file_format for table in sources[name].tables())


@pytest.mark.parametrize("raw_table", sorted(CONTRACT))
def test_contract_tables_have_exactly_the_contract_columns_and_keys(raw_table: str) -> None:
    primary_key, columns = CONTRACT[raw_table]
    spec = find_table(raw_table)
    assert spec.primary_key == primary_key
    assert dict(spec.columns) == columns
    assert spec.column_names == tuple(columns)
    if spec.kind == "postgres":
        assert spec.incremental_column == "updated_at"


def test_every_postgres_table_has_a_key_and_an_incremental_column() -> None:
    for source in load_all_sources():
        for table in source.tables():
            assert table.primary_key
            if table.kind == "postgres":
                assert table.incremental_column in table.column_names


def test_a_definition_without_primary_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "source: broken\nkind: postgres\nowner: t\ngroups:\n  g:\n    schedule: '@daily'\n    tables:\n"
        "      t1: {incremental_column: updated_at, columns: {id: BIGINT, updated_at: TIMESTAMP}}\n"
    )
    with pytest.raises(SourceDefinitionError, match="primary_key"):
        load_source(path)
