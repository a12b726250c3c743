"""Compacts ledger postings into end-of-day balances per account, netting reversals.

Reads JSON lines (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``ledger-compaction --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

INPUT_SCHEMA = (
    "posting_id STRING, "
    "account_id STRING, "
    "entry_side STRING, "
    "amount DECIMAL(18,2), "
    "posted_at TIMESTAMP, "
    "reversal_of STRING"
)


def transform(postings: DataFrame) -> DataFrame:
    """End-of-day balance per account and day: a reversed posting and its reversal cancel out and are
    both dropped; credits add, debits subtract; the balance is the running sum of daily net movements."""
    reversed_ids = postings.where(F.col("reversal_of").isNotNull()).select(F.col("reversal_of").alias("posting_id"))
    live = postings.where(F.col("reversal_of").isNull()).join(reversed_ids, "posting_id", "left_anti")
    signed = F.when(F.col("entry_side") == "CREDIT", F.col("amount")).otherwise(-F.col("amount"))
    daily = live.groupBy("account_id", F.to_date("posted_at").alias("balance_date")).agg(
        F.sum(signed).alias("net_movement"), F.count(F.lit(1)).alias("postings")
    )
    to_date = Window.partitionBy("account_id").orderBy("balance_date").rowsBetween(Window.unboundedPreceding, 0)
    return daily.withColumn("closing_balance", F.sum("net_movement").over(to_date))


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
        prog="ledger-compaction",
        description="Compacts ledger postings into end-of-day balances per account, netting reversals",
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``ledger-compaction`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("ledger_compaction").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
