"""Merchant risk score and tier from payment outcomes.

Reads CSV (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``merchant-risk-scoring --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

INPUT_SCHEMA = "payment_id STRING, merchant_id STRING, amount DECIMAL(18,2), status STRING, card_present BOOLEAN"

# Weights agreed with Merchant Risk; a score of 1.0 means every payment is a problem.
WEIGHTS = {"declined": 0.2, "refunded": 0.3, "chargeback": 1.0}
CARD_NOT_PRESENT_WEIGHT = 0.1
TIERS = [(0.25, "high"), (0.10, "medium")]


def transform(payments: DataFrame) -> DataFrame:
    """Per merchant: volume, rates of declines/refunds/chargebacks, card-not-present share, a weighted
    score (capped at 1) and a tier (high >= 0.25, medium >= 0.10, else low)."""
    rates = [F.avg((F.col("status") == s).cast("double")).alias(f"{s}_rate") for s in WEIGHTS]
    features = payments.groupBy("merchant_id").agg(
        F.count(F.lit(1)).alias("payments"),
        F.sum(F.when(F.col("status") == "settled", F.col("amount")).otherwise(0)).alias("settled_amount"),
        F.avg((~F.col("card_present")).cast("double")).alias("cnp_share"),
        *rates,
    )
    score = sum((F.col(f"{s}_rate") * w for s, w in WEIGHTS.items()), F.col("cnp_share") * CARD_NOT_PRESENT_WEIGHT)
    tier = F.lit("low")
    for floor, name in reversed(TIERS):
        tier = F.when(F.col("risk_score") >= floor, F.lit(name)).otherwise(tier)
    return features.withColumn("risk_score", F.round(F.least(score, F.lit(1.0)), 4)).withColumn("tier", tier)


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
        prog="merchant-risk-scoring", description="Merchant risk score and tier from payment outcomes"
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``merchant-risk-scoring`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("merchant_risk_scoring").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
