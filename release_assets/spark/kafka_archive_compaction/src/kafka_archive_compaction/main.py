"""Compacts archived Kafka events per topic: read events, aggregate size_bytes per topic, write Parquet."""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def transform(df: DataFrame) -> DataFrame:
    """Total, count and max of size_bytes per topic, ignoring rows without a topic."""
    return (
        df.where(F.col("topic").isNotNull())
        .groupBy("topic")
        .agg(
            F.sum(F.col("size_bytes").cast("double")).alias("total_size_bytes"),
            F.count(F.lit(1)).alias("rows"),
            F.max(F.col("size_bytes").cast("double")).alias("max_size_bytes"),
        )
    )


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compacts archived Kafka events per topic")
    parser.add_argument("--input", required=True, help="CSV input with a header row")
    parser.add_argument("--output", required=True, help="Parquet output directory")
    args = parser.parse_args(argv)
    session = spark or SparkSession.builder.appName("kafka_archive_compaction").getOrCreate()
    df = session.read.option("header", True).option("inferSchema", True).csv(args.input)
    transform(df).write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
