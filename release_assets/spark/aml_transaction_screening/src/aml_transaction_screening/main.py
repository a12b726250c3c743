"""Screens transactions against AML rules (large cash, structuring, high-risk countries).

Reads CSV (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``aml-transaction-screening --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse
from importlib import resources
from typing import Any

import yaml
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

INPUT_SCHEMA = (
    "txn_id STRING, account_id STRING, amount DECIMAL(18,2), channel STRING, country STRING, txn_ts TIMESTAMP"
)


def load_rules() -> dict[str, Any]:
    """The screening thresholds shipped with this package (``rules.yaml``)."""
    return yaml.safe_load(resources.files(__package__).joinpath("rules.yaml").read_text())


def transform(transactions: DataFrame, rules: dict[str, Any] | None = None) -> DataFrame:
    """One row per flagged transaction with the rules it hit; unflagged transactions are not emitted."""
    rules = rules or load_rules()
    band = rules["structuring"]
    in_band = (F.col("channel") == "cash") & F.col("amount").between(band["lower"], band["upper"] - 0.01)
    dated = transactions.withColumn("txn_date", F.to_date("txn_ts"))
    per_day = dated.groupBy("account_id", "txn_date").agg(F.sum(in_band.cast("int")).alias("in_band_count"))
    flagged = dated.join(per_day, ["account_id", "txn_date"], "left")
    reasons = F.array_compact(
        F.array(
            F.when(
                (F.col("channel") == "cash") & (F.col("amount") >= rules["large_cash_threshold"]), F.lit("large_cash")
            ),
            F.when(in_band & (F.col("in_band_count") >= band["min_count_per_day"]), F.lit("structuring")),
            F.when(F.col("country").isin(rules["high_risk_countries"]), F.lit("high_risk_country")),
        )
    )
    return (
        flagged.withColumn("reasons", reasons)
        .where(F.size("reasons") > 0)
        .select("txn_id", "account_id", "amount", "country", "txn_ts", "reasons")
    )


def read_input(spark: SparkSession, path: str, fmt: str | None = None) -> DataFrame:
    """Read ``path`` with INPUT_SCHEMA; the format follows the suffix (.csv, .json/.jsonl) unless given."""
    fmt = fmt or ("csv" if path.endswith(".csv") else "json" if path.endswith((".json", ".jsonl")) else "parquet")
    reader = spark.read.schema(INPUT_SCHEMA)
    if fmt == "csv":
        return reader.option("header", True).option("mode", "FAILFAST").csv(path)
    if fmt == "json":
        return reader.option("mode", "FAILFAST").json(path)
    return reader.parquet(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options of the job."""
    parser = argparse.ArgumentParser(
        prog="aml-transaction-screening",
        description="Screens transactions against AML rules (large cash, structuring, high-risk countries)",
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``aml-transaction-screening`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("aml_transaction_screening").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
