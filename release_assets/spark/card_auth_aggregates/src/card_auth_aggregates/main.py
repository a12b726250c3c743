"""Hourly approval rate and declined volume per merchant from card authorizations.

Reads JSON lines (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``card-auth-aggregates --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

INPUT_SCHEMA = (
    "auth_id STRING, card_id STRING, merchant_id STRING, amount DECIMAL(18,2), response_code STRING, auth_ts TIMESTAMP"
)

APPROVED = "00"


def transform(authorizations: DataFrame) -> DataFrame:
    """Per merchant and hour: authorizations, approval rate and declined amount. Duplicate deliveries of
    the same auth_id (at-least-once from Kafka) count once."""
    approved = F.col("response_code") == APPROVED
    return (
        authorizations.dropDuplicates(["auth_id"])
        .groupBy("merchant_id", F.date_trunc("hour", "auth_ts").alias("auth_hour"))
        .agg(
            F.count(F.lit(1)).alias("authorizations"),
            F.round(F.avg(approved.cast("double")), 4).alias("approval_rate"),
            F.sum(F.when(~approved, F.col("amount")).otherwise(0)).alias("declined_amount"),
        )
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
        prog="card-auth-aggregates",
        description="Hourly approval rate and declined volume per merchant from card authorizations",
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``card-auth-aggregates`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("card_auth_aggregates").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
