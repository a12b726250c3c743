"""Live schema vs expected: the warehouse's information_schema against the raw-table contract and the
dbt project's enforced model contracts.

A source that dropped or retyped a column, or a published model whose columns no longer match its
contract, is a schema change; finding it before (or right after) a release tells it apart from a
data-quality regression or a code bug.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import yaml

from finsight_release.reference.raw_schema import RAW_SCHEMA, RAW_TABLES

PUBLISHED_SCHEMA = "analytics"
_SYNONYMS = {
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "INT8": "BIGINT",
    "STRING": "VARCHAR",
    "TEXT": "VARCHAR",
    "FLOAT8": "DOUBLE",
    "FLOAT": "DOUBLE",
    "NUMERIC": "DECIMAL",
    "BOOL": "BOOLEAN",
    "TIMESTAMP_NTZ": "TIMESTAMP",
    "DATETIME": "TIMESTAMP",
}


def normalize_type(data_type: str) -> str:
    """Comparable type name: upper case, synonyms folded, string lengths dropped, decimals kept."""
    text = data_type.strip().upper()
    base, _, args = text.partition("(")
    base = _SYNONYMS.get(base.strip(), base.strip())
    if base in {"VARCHAR", "CHAR"}:
        return "VARCHAR"
    return f"{base}({args}" if args and base == "DECIMAL" else base


def contracted_models(project_dir: Path) -> dict[str, dict[str, str]]:
    """Models with an enforced contract in the dbt project's YAML: model -> column -> data_type."""
    models: dict[str, dict[str, str]] = {}
    for path in sorted((project_dir / "models").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for model in doc.get("models") or []:
            contract = ((model.get("config") or {}).get("contract") or {}).get("enforced")
            if contract:
                models[model["name"]] = {
                    c["name"]: c["data_type"]
                    for c in model.get("columns") or []
                    if c.get("data_type")
                }
    return models


def live_columns(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, dict[str, str]]:
    """table -> column -> data_type for one schema."""
    found: dict[str, dict[str, str]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from information_schema.columns where table_schema = ?",
        [schema],
    ).fetchall():
        found.setdefault(table, {})[column] = data_type
    return found


def compare(where: str, expected: dict[str, str], live: dict[str, str] | None) -> list[str]:
    """Differences of one relation, one line each, worded as the warehouse would."""
    if live is None:
        return [f"{where}: relation does not exist (table or view missing)"]
    problems = []
    for column, data_type in expected.items():
        if column not in live:
            problems.append(f"{where}: invalid identifier '{column}' (column missing)")
        elif normalize_type(live[column]) != normalize_type(data_type):
            problems.append(
                f"{where}.{column}: type mismatch, expected {data_type}, found {live[column]}"
            )
    return problems


def live_schema_findings(warehouse: Path, project_dir: Path | None = None) -> list[str]:
    """Every difference between the live warehouse and the raw contract (and the dbt contracts)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        raw = live_columns(con, RAW_SCHEMA)
        published = live_columns(con, PUBLISHED_SCHEMA)
    problems: list[str] = []
    for table in RAW_TABLES:
        expected = {name: data_type for name, data_type in table.columns}
        problems += compare(f"{RAW_SCHEMA}.{table.name}", expected, raw.get(table.name))
    if project_dir is not None and published:
        for model, columns in contracted_models(project_dir).items():
            problems += compare(f"{PUBLISHED_SCHEMA}.{model}", columns, published.get(model))
    return [re.sub(r"\s+", " ", p) for p in problems]
