"""Rolling 24-hour spend features per account for the fraud models.

Reads CSV (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``fraud-feature-build --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

INPUT_SCHEMA = (
    "txn_id STRING, "
    "account_id STRING, "
    "amount DECIMAL(18,2), "
    "currency STRING, "
    "merchant_category STRING, "
    "txn_ts TIMESTAMP"
)

WINDOW_SECONDS = 24 * 3600


def transform(transactions: DataFrame) -> DataFrame:
    """One row per transaction with the account's count, sum and distinct merchant categories over the
    preceding 24 hours (inclusive), so a model sees bursts of spend across new categories."""
    epoch = F.col("txn_ts").cast("long")
    last_24h = Window.partitionBy("account_id").orderBy(epoch).rangeBetween(-WINDOW_SECONDS, 0)
    return transactions.where(F.col("account_id").isNotNull()).select(
        "txn_id",
        "account_id",
        "txn_ts",
        "amount",
        F.count(F.lit(1)).over(last_24h).alias("txn_count_24h"),
        F.sum("amount").over(last_24h).alias("amount_sum_24h"),
        F.size(F.collect_set("merchant_category").over(last_24h)).alias("distinct_mcc_24h"),
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
        prog="fraud-feature-build", description="Rolling 24-hour spend features per account for the fraud models"
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``fraud-feature-build`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("fraud_feature_build").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
