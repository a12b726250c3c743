"""Reconciles ledger payments against processor settlements.

Reads CSV (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``payment-settlement-recon --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

INPUT_SCHEMA = "record_source STRING, payment_id STRING, amount DECIMAL(18,2), currency STRING"


def transform(records: DataFrame) -> DataFrame:
    """One row per payment id seen in either source, with a status: matched, amount_mismatch,
    currency_mismatch, missing_in_ledger or missing_in_processor."""
    ledger = records.where(F.col("record_source") == "ledger").select(
        "payment_id", F.col("amount").alias("ledger_amount"), F.col("currency").alias("ledger_currency")
    )
    processor = records.where(F.col("record_source") == "processor").select(
        "payment_id", F.col("amount").alias("processor_amount"), F.col("currency").alias("processor_currency")
    )
    joined = ledger.join(processor, "payment_id", "full_outer")
    status = (
        F.when(F.col("ledger_amount").isNull(), "missing_in_ledger")
        .when(F.col("processor_amount").isNull(), "missing_in_processor")
        .when(F.col("ledger_currency") != F.col("processor_currency"), "currency_mismatch")
        .when(F.col("ledger_amount") != F.col("processor_amount"), "amount_mismatch")
        .otherwise("matched")
    )
    return joined.withColumn("status", status).withColumn(
        "difference", F.coalesce("processor_amount", F.lit(0)) - F.coalesce("ledger_amount", F.lit(0))
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
        prog="payment-settlement-recon", description="Reconciles ledger payments against processor settlements"
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``payment-settlement-recon`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("payment_settlement_recon").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
