"""Standardised-approach risk-weighted assets and capital requirement per asset class.

Reads CSV (or Parquet) with a declared schema, transforms with the DataFrame API, writes Parquet.
Run: ``regulatory-capital-calc --input <path> --output <dir>`` (``spark-submit`` runs the same ``main``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

INPUT_SCHEMA = "exposure_id STRING, asset_class STRING, exposure_amount DECIMAL(18,2), collateral_value DECIMAL(18,2)"

# Basel III standardised risk weights; an unmapped class is weighted 150% (conservative).
RISK_WEIGHTS = {"sovereign": 0.0, "bank": 0.2, "residential_mortgage": 0.35, "retail": 0.75, "corporate": 1.0}
UNMAPPED_WEIGHT = 1.5
CAPITAL_RATIO = 0.08


def transform(exposures: DataFrame) -> DataFrame:
    """Per asset class: exposure at default (exposure net of collateral, floored at 0), risk-weighted
    assets and the 8% capital requirement."""
    weights = exposures.sparkSession.createDataFrame(
        list(RISK_WEIGHTS.items()), "asset_class STRING, risk_weight DOUBLE"
    )
    ead = F.greatest(F.col("exposure_amount") - F.coalesce("collateral_value", F.lit(0)), F.lit(0))
    weighted = exposures.join(F.broadcast(weights), "asset_class", "left").select(
        "asset_class",
        ead.alias("ead"),
        (ead * F.coalesce("risk_weight", F.lit(UNMAPPED_WEIGHT))).alias("rwa"),
    )
    return (
        weighted.groupBy("asset_class")
        .agg(F.sum("ead").alias("ead"), F.sum("rwa").alias("rwa"))
        .withColumn("capital_requirement", F.round(F.col("rwa") * CAPITAL_RATIO, 2))
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
        prog="regulatory-capital-calc",
        description="Standardised-approach risk-weighted assets and capital requirement per asset class",
    )
    parser.add_argument("--input", required=True, help="CSV with a header row, JSON lines or Parquet")
    parser.add_argument("--output", required=True, help="output directory (Parquet, overwritten)")
    parser.add_argument("--format", choices=["csv", "json", "parquet"], help="input format (default: from suffix)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    """Entry point of the ``regulatory-capital-calc`` console script; returns the exit code."""
    args = parse_args(argv)
    session = spark or SparkSession.builder.appName("regulatory_capital_calc").getOrCreate()
    result = transform(read_input(session, args.input, args.format))
    result.write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
