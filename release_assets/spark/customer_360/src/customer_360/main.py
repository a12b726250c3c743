"""Per-customer account rollup: read accounts, aggregate balance per customer_id, write Parquet."""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def transform(df: DataFrame) -> DataFrame:
    """Total, count and max of balance per customer_id, ignoring rows without a customer_id."""
    return (
        df.where(F.col("customer_id").isNotNull())
        .groupBy("customer_id")
        .agg(
            F.sum(F.col("balance").cast("double")).alias("total_balance"),
            F.count(F.lit(1)).alias("rows"),
            F.max(F.col("balance").cast("double")).alias("max_balance"),
        )
    )


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    parser = argparse.ArgumentParser(description="Per-customer account rollup")
    parser.add_argument("--input", required=True, help="CSV input with a header row")
    parser.add_argument("--output", required=True, help="Parquet output directory")
    args = parser.parse_args(argv)
    session = spark or SparkSession.builder.appName("customer_360").getOrCreate()
    df = session.read.option("header", True).option("inferSchema", True).csv(args.input)
    transform(df).write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
