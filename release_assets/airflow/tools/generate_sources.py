"""Generate the source YAML files under ``dags/sources/`` (run once; the YAML files are committed).

Deterministic: the same script always writes the same bytes (table counts and columns come from CRC32
of names and seeded ``random.Random``, never from the clock or hash randomisation). The 12 raw tables
of the data contract (notes: RAW_TABLES.md) are written with exactly the contract's columns and keys;
every other table is generated but plausible (``<group stem>_<noun>`` with a short column list).

Usage:
    python release_assets/airflow/tools/generate_sources.py [--out DIR]
"""

from __future__ import annotations

import argparse
import random
import zlib
from pathlib import Path
from typing import Any

import yaml

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "dags" / "sources"

# fmt: off
# Data tables kept compact on purpose (one source / table per line).
# source -> (owner, groups); each group becomes one DAG.
POSTGRES_SOURCES: dict[str, tuple[str, list[str]]] = {
    "core_banking": ("team-core-banking-data", ["customers", "accounts", "transactions", "ledger",
                     "standing_orders", "deposits", "interest", "statements", "branches", "products", "fees"]),
    "payments": ("team-payments-data", ["payments", "refunds", "chargebacks", "payouts", "settlements",
                 "mandates", "wallets", "transfers", "invoices", "disputes"]),
    "merchants": ("team-merchant-data", ["merchants", "merchant_fees", "onboarding", "terminals", "contracts",
                  "pricing", "stores"]),
    "risk": ("team-risk-data", ["fraud_scores", "alerts", "rules", "cases", "devices", "velocity", "watchlists",
             "models"]),
    "cards": ("team-cards-data", ["cards", "authorizations", "clearing", "tokens", "pins", "limits", "rewards",
              "statements", "network_fees"]),
    "lending": ("team-lending-data", ["applications", "loans", "repayments", "collateral", "collections",
                "credit_lines", "underwriting", "provisions", "schedules"]),
    "crm": ("team-crm-data", ["contacts", "campaigns", "tickets", "interactions", "consents", "segments",
            "surveys", "referrals"]),
    "compliance": ("team-compliance-data", ["kyc", "aml", "sanctions", "reports", "audits", "policies",
                   "retention"]),
    "treasury": ("team-treasury-data", ["liquidity", "positions", "fx_deals", "funding", "hedges",
                 "cash_forecast"]),
}
# source -> (owner, file format, groups)
S3_SOURCES: dict[str, tuple[str, str, list[str]]] = {
    "s3_market": ("team-market-data", "csv", ["fx_rates", "interest_rates", "equity_prices", "bond_prices",
                  "commodities", "indices"]),
    "s3_events": ("team-event-platform", "parquet", ["card_authorizations", "app_clickstream", "web_sessions",
                  "push_notifications", "login_events", "device_events", "payment_events", "ledger_events",
                  "api_audit", "feature_flags"]),
    "s3_partners": ("team-partner-integrations", "csv", ["card_networks", "acquirers", "credit_bureaus",
                    "open_banking", "insurance", "loyalty", "payroll", "tax_authorities", "correspondent_banks"]),
}

# The 12 contract tables: (source, group) -> {table: spec}. Columns and keys exactly as RAW_TABLES.md.
TS, BIG, VC, AMT = "TIMESTAMP", "BIGINT", "VARCHAR", "DECIMAL(18,2)"
CONTRACT_TABLES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("core_banking", "customers"): {"customers": {"primary_key": ["customer_id"], "columns": {
        "customer_id": BIG, "full_name": VC, "email": VC, "country": "VARCHAR(2)", "segment": VC,
        "kyc_status": VC, "created_at": TS, "updated_at": TS}}},
    ("core_banking", "accounts"): {"accounts": {"primary_key": ["account_id"], "columns": {
        "account_id": BIG, "customer_id": BIG, "account_type": VC, "currency": "VARCHAR(3)", "status": VC,
        "opened_at": TS, "updated_at": TS}}},
    ("core_banking", "transactions"): {"transactions": {"primary_key": ["transaction_id"], "columns": {
        "transaction_id": BIG, "account_id": BIG, "merchant_id": BIG, "amount": AMT, "currency": "VARCHAR(3)",
        "direction": VC, "status": VC, "created_at": TS, "updated_at": TS}}},
    ("payments", "payments"): {"payments": {"primary_key": ["payment_id"], "columns": {
        "payment_id": BIG, "account_id": BIG, "merchant_id": BIG, "amount": AMT, "currency": "VARCHAR(3)",
        "method": VC, "status": VC, "created_at": TS, "updated_at": TS}}},
    ("payments", "refunds"): {"refunds": {"primary_key": ["refund_id"], "columns": {
        "refund_id": BIG, "payment_id": BIG, "amount": AMT, "reason": VC, "created_at": TS, "updated_at": TS}}},
    ("payments", "chargebacks"): {"chargebacks": {"primary_key": ["chargeback_id"], "columns": {
        "chargeback_id": BIG, "payment_id": BIG, "amount": AMT, "reason_code": VC, "status": VC,
        "created_at": TS, "updated_at": TS}}},
    ("merchants", "merchants"): {"merchants": {"primary_key": ["merchant_id"], "columns": {
        "merchant_id": BIG, "merchant_name": VC, "mcc": "VARCHAR(4)", "country": "VARCHAR(2)", "risk_tier": VC,
        "onboarded_at": TS, "updated_at": TS}}},
    ("merchants", "merchant_fees"): {"merchant_fees": {"primary_key": ["fee_id"], "columns": {
        "fee_id": BIG, "merchant_id": BIG, "fee_bps": "INTEGER", "fixed_fee": "DECIMAL(10,2)",
        "effective_from": "DATE", "updated_at": TS}}},
    ("risk", "fraud_scores"): {"fraud_scores": {"primary_key": ["score_id"], "columns": {
        "score_id": BIG, "transaction_id": BIG, "score": "DOUBLE", "model_version": VC, "scored_at": TS,
        "updated_at": TS}}},
    ("risk", "alerts"): {"alerts": {"primary_key": ["alert_id"], "columns": {
        "alert_id": BIG, "account_id": BIG, "alert_type": VC, "severity": VC, "created_at": TS, "updated_at": TS}}},
    ("s3_market", "fx_rates"): {"fx_rates": {"primary_key": ["rate_date", "currency"], "columns": {
        "rate_date": "DATE", "currency": "VARCHAR(3)", "usd_rate": "DECIMAL(18,8)", "_file_name": VC}}},
    ("s3_events", "card_authorizations"): {"card_authorizations": {"primary_key": ["auth_id"], "columns": {
        "auth_id": VC, "account_id": BIG, "merchant_id": BIG, "amount": AMT, "currency": "VARCHAR(3)",
        "approved": "BOOLEAN", "event_ts": TS, "_file_name": VC}}},
}
# Critical groups: tag `critical` and an SLA (minutes) on every task.
CRITICAL_GROUPS = {("core_banking", "transactions"): 45, ("payments", "payments"): 45,
                   ("s3_events", "card_authorizations"): 30}

NOUNS = ["events", "history", "attributes", "audit_log", "status_changes", "notes", "documents", "limits",
         "schedules", "balances", "snapshots", "mappings", "references", "adjustments", "approvals", "exceptions",
         "reversals", "holds", "links", "tags", "versions", "contacts", "batches", "errors", "metrics", "configs",
         "overrides", "rules", "queue", "archive", "summaries", "allocations", "assignments", "comments", "flags",
         "imports", "notifications", "reviews", "tasks", "thresholds"]
EXTRA_COLUMNS = {"status": VC, "amount": AMT, "currency": "VARCHAR(3)", "description": VC, "source_system": VC,
                 "effective_date": "DATE", "is_active": "BOOLEAN", "sequence_no": "INTEGER", "external_ref": VC,
                 "created_by": VC}
IRREGULAR_SINGULAR = {"indices": "index", "statuses": "status", "aml": "aml", "kyc": "kyc"}
POSTGRES_SCHEDULES = ["{m} * * * *", "{m} */2 * * *", "{m} */4 * * *", "{m} */6 * * *", "{m} 1 * * *"]
S3_SCHEDULES = {"s3_market": "{m} * * * *", "s3_events": "{m15}-59/15 * * * *", "s3_partners": "{m} 5 * * *"}
# fmt: on


def singular(name: str) -> str:
    """A rough singular of a group name, used as the stem of generated table names."""
    if name in IRREGULAR_SINGULAR:
        return IRREGULAR_SINGULAR[name]
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def stable_int(text: str) -> int:
    """A process-independent integer for ``text`` (CRC32)."""
    return zlib.crc32(text.encode("utf-8"))


def generated_tables(source: str, group: str, kind: str, file_format: str | None) -> dict[str, dict[str, Any]]:
    """Plausible generated tables of one group: ``<stem>_<noun>`` with a short column list."""
    rng = random.Random(f"{source}.{group}")
    count = 20 + stable_int(f"{source}.{group}") % 11  # 20..30 tables, ~25 on average
    stem = singular(group)
    tables: dict[str, dict[str, Any]] = {}
    for noun in rng.sample([n for n in NOUNS if n != group], count - len(CONTRACT_TABLES.get((source, group), {}))):
        name = f"{stem}_{noun}"
        extras = dict(rng.sample(sorted(EXTRA_COLUMNS.items()), rng.randint(2, 4)))
        if kind == "postgres":
            columns = {"id": BIG, f"{stem}_id": BIG, **extras, "created_at": TS, "updated_at": TS}
            tables[name] = {"primary_key": ["id"], "incremental_column": "updated_at", "columns": columns}
        else:
            columns = {"record_id": VC, f"{stem}_ref": VC, **extras, "event_ts": TS, "_file_name": VC}
            tables[name] = {
                "primary_key": ["record_id"],
                "columns": columns,
                "prefix": f"{source.removeprefix('s3_')}/{name}/",
                "file_format": file_format,
            }
    return tables


def contract_tables(source: str, group: str, kind: str, file_format: str | None) -> dict[str, dict[str, Any]]:
    """The contract tables of a group, with the load keys the factory needs added."""
    tables = {}
    for name, spec in CONTRACT_TABLES.get((source, group), {}).items():
        if kind == "postgres":
            tables[name] = {**spec, "incremental_column": "updated_at"}
        else:
            tables[name] = {**spec, "prefix": f"{source.removeprefix('s3_')}/{name}/", "file_format": file_format}
    return tables


def group_definition(source: str, group: str, kind: str, file_format: str | None, index: int) -> dict[str, Any]:
    """One group (one DAG): schedule staggered by a stable minute, tables, criticality."""
    minute = stable_int(f"minute.{source}.{group}") % 60
    if kind == "postgres":
        schedule = "{m} * * * *" if (source, group) in CRITICAL_GROUPS else POSTGRES_SCHEDULES[index % 5]
    else:
        schedule = S3_SCHEDULES[source]
    definition: dict[str, Any] = {"schedule": schedule.format(m=minute, m15=minute % 15)}
    if (source, group) in CRITICAL_GROUPS:
        definition.update(critical=True, sla_minutes=CRITICAL_GROUPS[(source, group)])
    definition["tables"] = {
        **contract_tables(source, group, kind, file_format),
        **generated_tables(source, group, kind, file_format),
    }
    return definition


def source_documents() -> dict[str, dict[str, Any]]:
    """Every source file's content, keyed by source name."""
    documents: dict[str, dict[str, Any]] = {}
    for source, (owner, groups) in POSTGRES_SOURCES.items():
        documents[source] = {
            "source": source,
            "kind": "postgres",
            "conn_id": f"postgres_{source}",
            "schema": "public",
            "owner": owner,
            "groups": {g: group_definition(source, g, "postgres", None, i) for i, g in enumerate(groups)},
        }
    for source, (owner, file_format, groups) in S3_SOURCES.items():
        documents[source] = {
            "source": source,
            "kind": "s3",
            "owner": owner,
            "groups": {g: group_definition(source, g, "s3", file_format, i) for i, g in enumerate(groups)},
        }
    return documents


def main() -> None:
    """Write one ``<source>.yaml`` per source into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    header = "# Generated by release_assets/airflow/tools/generate_sources.py; edit the generator, then re-run it.\n"
    for source, document in source_documents().items():
        body = yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=200)
        (out / f"{source}.yaml").write_text(header + body, encoding="utf-8")


if __name__ == "__main__":
    main()
