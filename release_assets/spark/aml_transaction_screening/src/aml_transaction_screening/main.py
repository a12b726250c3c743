"""Large-transaction screening totals: read transactions, aggregate amount per account_id, write Parquet."""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def transform(df: DataFrame) -> DataFrame:
    """Total, count and max of amount per account_id, ignoring rows without a account_id."""
    return (
        df.where(F.col("account_id").isNotNull())
        .groupBy("account_id")
        .agg(
            F.sum(F.col("amount").cast("double")).alias("total_amount"),
            F.count(F.lit(1)).alias("rows"),
            F.max(F.col("amount").cast("double")).alias("max_amount"),
        )
    )


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    parser = argparse.ArgumentParser(description="Large-transaction screening totals")
    parser.add_argument("--input", required=True, help="CSV input with a header row")
    parser.add_argument("--output", required=True, help="Parquet output directory")
    args = parser.parse_args(argv)
    session = spark or SparkSession.builder.appName("aml_transaction_screening").getOrCreate()
    df = session.read.option("header", True).option("inferSchema", True).csv(args.input)
    transform(df).write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
