"""The 12 raw tables the dbt project reads, as code: names, primary keys and typed columns.

This mirrors the contract in ``RAW_TABLES.md`` (local DuckDB: schema ``raw``, table
``<source>__<table>``). The synthetic generator creates the tables from it, and loaders can reuse it
for their DDL, so the shape is written down once.
"""

from __future__ import annotations

from dataclasses import dataclass

RAW_SCHEMA = "raw"
LOAD_HISTORY_TABLE = "_load_history"

# Technical columns every table loaded from PostgreSQL carries (set by the load, MERGEd on the pk).
POSTGRES_TECHNICAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_loaded_at", "TIMESTAMP"),
    ("_batch_id", "VARCHAR"),
)


@dataclass(frozen=True)
class RawTable:
    """One raw table: ``<source>__<table>`` with its primary key and business columns."""

    source: str
    table: str
    primary_key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    from_postgres: bool = True

    @property
    def name(self) -> str:
        """The local table name, ``<source>__<table>``."""
        return f"{self.source}__{self.table}"

    @property
    def all_columns(self) -> tuple[tuple[str, str], ...]:
        """Business columns plus the technical columns of its load path."""
        return self.columns + (POSTGRES_TECHNICAL_COLUMNS if self.from_postgres else ())

    def create_sql(self, schema: str = RAW_SCHEMA) -> str:
        """``CREATE OR REPLACE TABLE`` statement with the primary key (what loads MERGE on)."""
        cols = ",\n  ".join(f"{name} {dtype}" for name, dtype in self.all_columns)
        return (
            f"CREATE OR REPLACE TABLE {schema}.{self.name} (\n  {cols},\n"
            f"  PRIMARY KEY ({', '.join(self.primary_key)})\n)"
        )


RAW_TABLES: tuple[RawTable, ...] = (
    RawTable(
        "core_banking",
        "customers",
        ("customer_id",),
        (
            ("customer_id", "BIGINT"),
            ("full_name", "VARCHAR"),
            ("email", "VARCHAR"),
            ("country", "VARCHAR(2)"),
            ("segment", "VARCHAR"),
            ("kyc_status", "VARCHAR"),
            ("created_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
        ),
    ),
    RawTable(
        "core_banking",
        "accounts",
        ("account_id",),
        (
            ("account_id", "BIGINT"),
            ("customer_id", "BIGINT"),
            ("account_type", "VARCHAR"),
            ("currency", "VARCHAR(3)"),
            ("status", "VARCHAR"),
            ("opened_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
        ),
    ),
    RawTable(
        "core_banking",
        "transactions",
        ("transaction_id",),
        (
            ("transaction_id", "BIGINT"),
            ("account_id", "BIGINT"),
            ("merchant_id", "BIGINT"),
            ("amount", "DECIMAL(18,2)"),
            ("currency", "VARCHAR(3)"),
            ("direction", "VARCHAR"),
            ("status", "VARCHAR"),
            ("created_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
        ),
    ),
    RawTable(
        "payments",
        "payments",
        ("payment_id",),
        (
            ("payment_id", "BIGINT"),
            ("account_id", "BIGINT"),
            ("merchant_id", "BIGINT"),
            ("amount", "DECIMAL(18,2)"),
            ("currency", "VARCHAR(3)"),
            ("method", "VARCHAR"),
            ("status", "VARCHAR"),
            ("created_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
        ),
    ),
    RawTable(
        "payments",
        "refunds",
        ("refund_id",),
        (
            ("refund_id", "BIGINT"),
            ("payment_id", "BIGINT"),
            ("amount", "DECIMAL(18,2)"),
            ("reason", "VARCHAR"),
            ("created_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
        ),
    ),
    RawTable(
        "payments",
        "chargebacks",
        ("chargeback_id",),
        (
            ("chargeback_id", "BIGINT"),
            ("payment_id", "BIGINT"),
            ("amount", "DECIMAL(18,2)"),
            ("reason_code", "VARCHAR"),
            ("status", "VARCHAR"),
            ("created_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
        ),
    ),
    RawTable(
        "merchants",
        "merchants",
        ("merchant_id",),
        (
            ("merchant_id", "BIGINT"),
            ("merchant_name", "VARCHAR"),
            ("mcc", "VARCHAR(4)"),
            ("country", "VARCHAR(2)"),
            ("risk_tier", "VARCHAR"),
            ("onboarded_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
        ),
    ),
    RawTable(
        "merchants",
        "merchant_fees",
        ("fee_id",),
        (
            ("fee_id", "BIGINT"),
            ("merchant_id", "BIGINT"),
            ("fee_bps", "INTEGER"),
            ("fixed_fee", "DECIMAL(10,2)"),
            ("effective_from", "DATE"),
            ("updated_at", "TIMESTAMP"),
        ),
    ),
    RawTable(
        "risk",
        "fraud_scores",
        ("score_id",),
        (
            ("score_id", "BIGINT"),
            ("transaction_id", "BIGINT"),
            ("score", "DOUBLE"),
            ("model_version", "VARCHAR"),
            ("scored_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
        ),
    ),
    RawTable(
        "risk",
        "alerts",
        ("alert_id",),
        (
            ("alert_id", "BIGINT"),
            ("account_id", "BIGINT"),
            ("alert_type", "VARCHAR"),
            ("severity", "VARCHAR"),
            ("created_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
        ),
    ),
    RawTable(
        "s3_market",
        "fx_rates",
        ("rate_date", "currency"),
        (
            ("rate_date", "DATE"),
            ("currency", "VARCHAR(3)"),
            ("usd_rate", "DECIMAL(18,8)"),
            ("_file_name", "VARCHAR"),
        ),
        from_postgres=False,
    ),
    RawTable(
        "s3_events",
        "card_authorizations",
        ("auth_id",),
        (
            ("auth_id", "VARCHAR"),
            ("account_id", "BIGINT"),
            ("merchant_id", "BIGINT"),
            ("amount", "DECIMAL(18,2)"),
            ("currency", "VARCHAR(3)"),
            ("approved", "BOOLEAN"),
            ("event_ts", "TIMESTAMP"),
            ("_file_name", "VARCHAR"),
        ),
        from_postgres=False,
    ),
)

LOAD_HISTORY_DDL = (
    f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{LOAD_HISTORY_TABLE} "
    "(table_name VARCHAR, file_name VARCHAR, loaded_at TIMESTAMP, PRIMARY KEY (table_name, file_name))"
)


def raw_table(name: str) -> RawTable:
    """The raw table called ``<source>__<table>``; raises KeyError naming it when unknown."""
    for table in RAW_TABLES:
        if table.name == name:
            return table
    raise KeyError(f"unknown raw table {name!r}; expected one of {[t.name for t in RAW_TABLES]}")
