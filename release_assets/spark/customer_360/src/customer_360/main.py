"""Per-customer rollup of accounts: balances by product, open accounts, tenure.

Reads JSON lines (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``customer-360 --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

INPUT_SCHEMA = (
    "customer_id STRING, account_id STRING, product STRING, status STRING, balance DECIMAL(18,2), opened_on DATE"
)

PRODUCTS = ["checking", "savings", "credit_card", "loan"]


def transform(accounts: DataFrame) -> DataFrame:
    """One row per customer: open-account balance per product (0 when none), open and total accounts,
    and the first account's opening date (tenure counts closed accounts too)."""
    is_open = F.col("status") == "open"
    balances = (
        accounts.where(is_open)
        .groupBy("customer_id")
        .pivot("product", PRODUCTS)
        .agg(F.sum("balance"))
        .na.fill(0, PRODUCTS)
    )
    for product in PRODUCTS:
        balances = balances.withColumnRenamed(product, f"{product}_balance")
    counts = accounts.groupBy("customer_id").agg(
        F.sum(is_open.cast("int")).alias("open_accounts"),
        F.count(F.lit(1)).alias("total_accounts"),
        F.min("opened_on").alias("customer_since"),
    )
    return counts.join(balances, "customer_id", "left")


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
        prog="customer-360", description="Per-customer rollup of accounts: balances by product, open accounts, tenure"
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``customer-360`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("customer_360").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
