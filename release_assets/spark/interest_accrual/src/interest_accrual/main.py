"""Month-to-date interest accrual per account from daily balances.

Reads CSV (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``interest-accrual --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse
import datetime as dt

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

INPUT_SCHEMA = "account_id STRING, balance_date DATE, balance DECIMAL(18,2), annual_rate_bps INT, day_count STRING"


def month_window(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """First day of ``as_of``'s month and ``as_of`` itself (both inclusive)."""
    return as_of + relativedelta(day=1), as_of


def transform(balances: DataFrame, as_of: str | None = None) -> DataFrame:
    """Per account: month-to-date accrued interest, summing balance * rate / year-days for each day in
    the month up to ``as_of`` (ACT/360 or ACT/365 per account), rounded to cents at the end only."""
    if as_of is None:
        latest = balances.agg(F.max("balance_date")).first()[0]
        as_of_date = latest or dt.date.today()
    else:
        as_of_date = date_parser.isoparse(as_of).date()
    start, end = month_window(as_of_date)
    year_days = F.when(F.col("day_count") == "ACT/360", F.lit(360)).otherwise(F.lit(365))
    daily = F.col("balance") * F.col("annual_rate_bps") / F.lit(10000) / year_days
    return (
        balances.where(F.col("balance_date").between(F.lit(start), F.lit(end)))
        .groupBy("account_id")
        .agg(F.count(F.lit(1)).alias("accrual_days"), F.round(F.sum(daily), 2).alias("accrued_interest"))
        .withColumn("period_start", F.lit(start))
        .withColumn("period_end", F.lit(end))
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
        prog="interest-accrual", description="Month-to-date interest accrual per account from daily balances"
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    parser.add_argument("--as-of", help="accrue the month up to this date (default: latest balance_date)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``interest-accrual`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("interest_accrual").getOrCreate()
    result = transform(read_input(session, args.input, args.format), as_of=args.as_of)
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
