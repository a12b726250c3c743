"""Capital exposure per asset class: read exposures, aggregate exposure per asset_class, write Parquet."""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def transform(df: DataFrame) -> DataFrame:
    """Total, count and max of exposure per asset_class, ignoring rows without a asset_class."""
    return (
        df.where(F.col("asset_class").isNotNull())
        .groupBy("asset_class")
        .agg(
            F.sum(F.col("exposure").cast("double")).alias("total_exposure"),
            F.count(F.lit(1)).alias("rows"),
            F.max(F.col("exposure").cast("double")).alias("max_exposure"),
        )
    )


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> int:
    parser = argparse.ArgumentParser(description="Capital exposure per asset class")
    parser.add_argument("--input", required=True, help="CSV input with a header row")
    parser.add_argument("--output", required=True, help="Parquet output directory")
    args = parser.parse_args(argv)
    session = spark or SparkSession.builder.appName("regulatory_capital_calc").getOrCreate()
    df = session.read.option("header", True).option("inferSchema", True).csv(args.input)
    transform(df).write.mode("overwrite").parquet(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
