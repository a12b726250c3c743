"""Session totals from app events: read app_events, aggregate duration_ms per customer_id, write Parquet."""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def transform(df: DataFrame) -> DataFrame:
    """Total, count and max of duration_ms per customer_id, ignoring rows without a customer_id."""
    return (
        df.where(F.col("customer_id").isNotNull())
        .groupBy("customer_id")
        .agg(
            F.sum(F.col("duration_ms").cast("double")).alias("total_duration_ms"),
            F.count(F.lit(1)).alias("rows"),
            F.max(F.col("duration_ms").cast("double")).alias("max_duration_ms"),
        )
    )


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    parser = argparse.ArgumentParser(description="Session totals from app events")
    parser.add_argument("--input", required=True, help="CSV input with a header row")
    parser.add_argument("--output", required=True, help="Parquet output directory")
    args = parser.parse_args(argv)
    session = spark or SparkSession.builder.appName("clickstream_sessionize").getOrCreate()
    df = session.read.option("header", True).option("inferSchema", True).csv(args.input)
    transform(df).write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
