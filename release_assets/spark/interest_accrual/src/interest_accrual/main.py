"""Daily interest accrual per account: read balances, aggregate balance per account_id, write Parquet."""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def transform(df: DataFrame) -> DataFrame:
    """Total, count and max of balance per account_id, ignoring rows without a account_id."""
    return (
        df.where(F.col("account_id").isNotNull())
        .groupBy("account_id")
        .agg(
            F.sum(F.col("balance").cast("double")).alias("total_balance"),
            F.count(F.lit(1)).alias("rows"),
            F.max(F.col("balance").cast("double")).alias("max_balance"),
        )
    )


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    parser = argparse.ArgumentParser(description="Daily interest accrual per account")
    parser.add_argument("--input", required=True, help="CSV input with a header row")
    parser.add_argument("--output", required=True, help="Parquet output directory")
    args = parser.parse_args(argv)
    session = spark or SparkSession.builder.appName("interest_accrual").getOrCreate()
    df = session.read.option("header", True).option("inferSchema", True).csv(args.input)
    transform(df).write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
