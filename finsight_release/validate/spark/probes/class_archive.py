"""Runs INSIDE the Spark runtime virtualenv (imports only pyspark and the stdlib); scripts/setup.sh calls it.

    python -I class_archive.py ARCHIVE.jsa

Starts a local SparkSession with ``-XX:ArchiveClassesAtExit=ARCHIVE.jsa`` (Java 13+ dynamic class-data
sharing), runs a small workload through what jobs commonly use (CSV and JSON readers with a schema,
joins, aggregates, windows, Parquet written and read back) and stops, so the JVM writes the classes it
loaded to the archive. Smoke runs started with ``-XX:SharedArchiveFile=ARCHIVE.jsa`` then map those
classes instead of loading them: the session and the first query start about twice as fast. A stale
archive (another JDK, another pyspark) is ignored by the JVM, never an error.
"""

from __future__ import annotations

import os
import sys
import tempfile


def main(archive: str) -> None:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    partial = f"{archive}.tmp-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="finsight-spark-cds-") as work:
        os.environ["SPARK_LOCAL_DIRS"] = os.path.join(work, "local")
        spark = (
            SparkSession.builder.master("local[1]")
            .appName("finsight-spark-class-archive")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.sql.warehouse.dir", os.path.join(work, "warehouse"))
            .config(
                "spark.driver.extraJavaOptions",
                f"-XX:+UseSerialGC -XX:ArchiveClassesAtExit={partial}",
            )
            .getOrCreate()
        )
        csv, jsonl = os.path.join(work, "in.csv"), os.path.join(work, "in.jsonl")
        with open(csv, "w") as fh:
            fh.write(
                "id,key,amount,ts\n1,a,1.50,2024-05-01T10:00:00\n2,b,2.25,2024-05-01T11:00:00\n"
            )
        with open(jsonl, "w") as fh:
            fh.write('{"key": "a", "label": "x"}\n{"key": "b", "label": "y"}\n')
        schema = "id STRING, key STRING, amount DECIMAL(18,2), ts TIMESTAMP"
        facts = spark.read.schema(schema).option("header", True).option("mode", "FAILFAST").csv(csv)
        labels = spark.read.schema("key STRING, label STRING").json(jsonl)
        by_key = Window.partitionBy("key").orderBy("ts")
        result = (
            facts.join(F.broadcast(labels), "key", "left")
            .withColumn("rank", F.row_number().over(by_key))
            .groupBy("label", F.to_date("ts").alias("day"))
            .agg(
                F.sum("amount").alias("amount"),
                F.count(F.lit(1)).alias("n"),
                F.collect_set("id").alias("ids"),
            )
        )
        out = os.path.join(work, "out")
        result.write.mode("overwrite").partitionBy("day").parquet(out)
        spark.read.parquet(out).count()
        jvm = getattr(spark.sparkContext._gateway, "proc", None)
        spark.stop()
        # The JVM writes the archive as it exits: on end of its stdin (PySpark's gateway protocol), so
        # close that and wait, then move the finished archive into place (never a half-written one).
        if jvm is not None:
            jvm.stdin.close()
            jvm.wait(timeout=300)
    if not os.path.exists(partial):
        raise SystemExit(f"the JVM wrote no class archive to {partial}")
    os.replace(partial, archive)


if __name__ == "__main__":
    main(sys.argv[1])
