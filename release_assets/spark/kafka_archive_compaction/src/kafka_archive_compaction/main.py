"""Compacts archived Kafka records to the latest value per key, dropping tombstones.

Reads JSON lines (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``kafka-archive-compaction --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

INPUT_SCHEMA = "topic STRING, `partition` INT, `offset` BIGINT, key STRING, value STRING, record_ts TIMESTAMP"


def transform(records: DataFrame) -> DataFrame:
    """Kafka log-compaction semantics on the archive: per (topic, key), keep the record with the highest
    offset (a key always maps to one partition), and drop the key entirely when that record is a
    tombstone (null value)."""
    latest_first = Window.partitionBy("topic", "key").orderBy(F.col("offset").desc())
    return (
        records.where(F.col("key").isNotNull())
        .withColumn("rank", F.row_number().over(latest_first))
        .where((F.col("rank") == 1) & F.col("value").isNotNull())
        .drop("rank")
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
        prog="kafka-archive-compaction",
        description="Compacts archived Kafka records to the latest value per key, dropping tombstones",
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``kafka-archive-compaction`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("kafka_archive_compaction").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
