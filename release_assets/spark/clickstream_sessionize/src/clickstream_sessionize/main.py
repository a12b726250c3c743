"""Sessionizes app events (30 minutes of inactivity ends a session).

Reads JSON lines (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``clickstream-sessionize --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

INPUT_SCHEMA = "customer_id STRING, event_ts TIMESTAMP, event_type STRING, screen STRING"

SESSION_GAP_SECONDS = 30 * 60


def transform(events: DataFrame) -> DataFrame:
    """One row per session: customer, session number, start, end, events and screens visited."""
    by_customer = Window.partitionBy("customer_id").orderBy("event_ts")
    gap = F.col("event_ts").cast("long") - F.lag(F.col("event_ts").cast("long")).over(by_customer)
    starts = events.withColumn("new_session", F.when(gap.isNull() | (gap > SESSION_GAP_SECONDS), 1).otherwise(0))
    numbered = starts.withColumn(
        "session_number", F.sum("new_session").over(by_customer.rowsBetween(Window.unboundedPreceding, 0))
    )
    return numbered.groupBy("customer_id", "session_number").agg(
        F.min("event_ts").alias("session_start"),
        F.max("event_ts").alias("session_end"),
        F.count(F.lit(1)).alias("events"),
        F.array_sort(F.collect_set("screen")).alias("screens"),
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
        prog="clickstream-sessionize", description="Sessionizes app events (30 minutes of inactivity ends a session)"
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``clickstream-sessionize`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("clickstream_sessionize").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
