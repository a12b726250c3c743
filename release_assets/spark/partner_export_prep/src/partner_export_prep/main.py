"""Prepares per-partner settlement extracts without PII, partitioned by partner.

Reads JSON lines (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``partner-export-prep --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

INPUT_SCHEMA = (
    "payment_id STRING, "
    "merchant_id STRING, "
    "partner STRING, "
    "amount DECIMAL(18,2), "
    "currency STRING, "
    "settled_at TIMESTAMP, "
    "customer_email STRING, "
    "card_pan STRING"
)


def transform(payments: DataFrame) -> DataFrame:
    """Partner-ready rows: the e-mail becomes an unsalted SHA-256 of its normalized form (partners
    match on it), the PAN keeps only its last four digits, amounts are fixed two-decimal strings."""
    email_hash = F.sha2(F.lower(F.trim(F.col("customer_email"))), 256)
    return payments.select(
        "partner",
        "payment_id",
        "merchant_id",
        F.format_number(F.col("amount"), 2).alias("amount"),
        "currency",
        F.date_format("settled_at", "yyyy-MM-dd'T'HH:mm:ss").alias("settled_at"),
        email_hash.alias("customer_email_sha256"),
        F.substring(F.col("card_pan"), -4, 4).alias("card_last4"),
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
        prog="partner-export-prep",
        description="Prepares per-partner settlement extracts without PII, partitioned by partner",
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``partner-export-prep`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("partner_export_prep").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").partitionBy("partner").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
