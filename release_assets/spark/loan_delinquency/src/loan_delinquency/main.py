"""Days past due and delinquency bucket per loan.

Reads CSV (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``loan-delinquency --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

INPUT_SCHEMA = (
    "loan_id STRING, "
    "installment INT, "
    "due_date DATE, "
    "amount_due DECIMAL(18,2), "
    "amount_paid DECIMAL(18,2), "
    "paid_date DATE"
)

BUCKETS = [(0, "current"), (1, "1-29"), (30, "30-59"), (60, "60-89"), (90, "90+")]


def bucket(days_past_due: Column) -> Column:
    """The delinquency bucket label for a days-past-due column."""
    label = F.lit(BUCKETS[0][1])
    for floor, name in BUCKETS[1:]:
        label = F.when(days_past_due >= floor, F.lit(name)).otherwise(label)
    return label


def transform(installments: DataFrame, as_of: str | None = None) -> DataFrame:
    """Per loan: outstanding past-due amount and days past due of the oldest unpaid installment due on or
    before ``as_of``, with its bucket (current when nothing is past due)."""
    as_of_date = F.lit(as_of).cast("date") if as_of else F.current_date()
    shortfall = F.col("amount_due") - F.coalesce(F.col("amount_paid"), F.lit(0))
    past_due = installments.where((F.col("due_date") < as_of_date) & (shortfall > 0))
    per_loan = past_due.groupBy("loan_id").agg(
        F.sum(shortfall).alias("past_due_amount"), F.min("due_date").alias("oldest_unpaid_due_date")
    )
    loans = installments.select("loan_id").distinct().join(per_loan, "loan_id", "left")
    days = F.coalesce(F.datediff(as_of_date, F.col("oldest_unpaid_due_date")), F.lit(0))
    return (
        loans.withColumn("past_due_amount", F.coalesce("past_due_amount", F.lit(0)))
        .withColumn("days_past_due", days)
        .withColumn("bucket", bucket(days))
        .withColumn("as_of", as_of_date)
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
        prog="loan-delinquency", description="Days past due and delinquency bucket per loan"
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    parser.add_argument("--as-of", help="evaluate delinquency on this date, YYYY-MM-DD (default: today)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``loan-delinquency`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("loan_delinquency").getOrCreate()
    result = transform(read_input(session, args.input, args.format), as_of=args.as_of)
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
