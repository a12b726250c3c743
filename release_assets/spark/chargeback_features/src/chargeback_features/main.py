"""Chargeback win rate and resolution time per merchant.

Reads CSV (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``chargeback-features --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

INPUT_SCHEMA = (
    "chargeback_id STRING, "
    "payment_id STRING, "
    "merchant_id STRING, "
    "amount DECIMAL(18,2), "
    "reason_code STRING, "
    "opened_on DATE, "
    "resolved_on DATE, "
    "outcome STRING"
)


def transform(chargebacks: DataFrame) -> DataFrame:
    """Per merchant: chargebacks, open ones, disputed amount, share won among resolved ones and mean
    days to resolution (open chargebacks are excluded from the rate and the duration)."""
    resolved = F.col("resolved_on").isNotNull()
    return chargebacks.groupBy("merchant_id").agg(
        F.count(F.lit(1)).alias("chargebacks"),
        F.sum((~resolved).cast("int")).alias("open_chargebacks"),
        F.sum("amount").alias("disputed_amount"),
        F.round(F.avg(F.when(resolved, (F.col("outcome") == "won").cast("double"))), 4).alias("win_rate"),
        F.avg(F.when(resolved, F.datediff("resolved_on", "opened_on"))).alias("avg_days_to_resolve"),
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
        prog="chargeback-features", description="Chargeback win rate and resolution time per merchant"
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``chargeback-features`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("chargeback_features").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
