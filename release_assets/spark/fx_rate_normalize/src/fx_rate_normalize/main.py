"""Normalizes vendor FX quotes to one USD rate per currency and day.

Reads CSV (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``fx-rate-normalize --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

INPUT_SCHEMA = "quote_ts TIMESTAMP, base STRING, quote STRING, rate DOUBLE, source STRING"

# Lower wins: the contracted vendor before the central-bank reference rate.
SOURCE_PRIORITY = {"refinitiv": 0, "ecb": 1}


def transform(quotes: DataFrame) -> DataFrame:
    """One row per (rate_date, currency): units of currency per 1 USD, from the best source's latest
    quote that day; quotes with USD as the quote currency are inverted; non-positive rates are dropped."""
    priority = F.coalesce(
        *[F.when(F.col("source") == name, F.lit(rank)) for name, rank in SOURCE_PRIORITY.items()], F.lit(99)
    )
    usd_based = quotes.where((F.col("rate") > 0) & ((F.col("base") == "USD") | (F.col("quote") == "USD")))
    normalized = usd_based.select(
        F.to_date("quote_ts").alias("rate_date"),
        F.when(F.col("base") == "USD", F.col("quote")).otherwise(F.col("base")).alias("currency"),
        F.when(F.col("base") == "USD", F.col("rate")).otherwise(1 / F.col("rate")).alias("usd_rate"),
        "source",
        "quote_ts",
        priority.alias("priority"),
    )
    best = Window.partitionBy("rate_date", "currency").orderBy("priority", F.col("quote_ts").desc())
    return (
        normalized.withColumn("rank", F.row_number().over(best))
        .where(F.col("rank") == 1)
        .select("rate_date", "currency", F.round("usd_rate", 8).alias("usd_rate"), "source")
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
        prog="fx-rate-normalize", description="Normalizes vendor FX quotes to one USD rate per currency and day"
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``fx-rate-normalize`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("fx_rate_normalize").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
