"""Benchmark of the Snowflake warehouse target on fakesnow: the reference dbt project (40 models and
their tests) deployed through :class:`SnowflakeWarehouseTarget`, with the SQL it generates.

    python benchmarks/snowflake_warehouse.py [--json] [--scale 1] [--rounds 3]

fakesnow runs the Snowflake SQL on an in-process DuckDB, so the times say what the target costs
around the warehouse (translation, statements, bookkeeping), not how fast Snowflake is. One run:

- ``compile_s``: the one ``dbt compile`` that fingerprints a project version (cached afterwards);
- ``first_release_models_built`` / ``first_release_s``: v1 prepared in an empty database (every model
  into its transient table or view, every data test run) and switched;
- ``one_model_change_models_built`` / ``one_model_change_s``: v2, whose only change is one staging
  model (``stg_payments__payments``), prepared (its compile included) and switched;
- ``rollback_s`` / ``promote_s``: the switch back to v1 and forward to v2 (views replaced in one
  transaction), median of ``--rounds``;
- ``staging_rows`` / ``mart_rows``: rows of ``stg_payments__payments`` and ``fct_payments`` through
  the published views after the last switch (the data is there, not only the DDL);
- ``data_diffs`` / ``data_diffs_blocking``: the data diffs v2's prepare measured in Snowflake SQL
  (each table it rebuilt whose published view switches), and how many are over a threshold;
- ``judge_s`` / ``judge_checks`` / ``judge_failed``: the post-deploy judge of v2 on Snowflake (its dbt
  tests, the 21 contracts, source freshness at ``JUDGED_AT``), and the names of the checks that did
  not pass.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from datetime import datetime
from functools import partial
from pathlib import Path

import fakesnow
import snowflake.connector

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.checks.snowflake_checks import snowflake_release_checks  # noqa: E402
from finsight_release.demo import copy_platform  # noqa: E402
from finsight_release.envs.environment import Environment  # noqa: E402
from finsight_release.observe.logging import configure_logging  # noqa: E402
from finsight_release.reference.raw_schema import RAW_SCHEMA  # noqa: E402
from finsight_release.reference.synthetic import generate_warehouse  # noqa: E402
from finsight_release.release.artifact import ArtifactKind  # noqa: E402
from finsight_release.release.manifest import ReleaseManifest  # noqa: E402
from finsight_release.release.repository import ReleaseRepository  # noqa: E402
from finsight_release.settings import REPO_ROOT  # noqa: E402
from finsight_release.store.local import LocalObjectStore  # noqa: E402
from finsight_release.targets.snowflake_warehouse import (  # noqa: E402
    SnowflakeEnvironment,
    SnowflakeWarehouseTarget,
)
from finsight_release.validate.dbt.sources import DbtTarget, source_tables  # noqa: E402
from finsight_release.validate.warehouse.snowflake_preflight import SnowflakeIdentity  # noqa: E402

DEV = Environment.DEV
JUDGED_AT = datetime(2024, 12, 31, 12, 0)  # half a day after the synthetic data's last loads
DATABASE, RAW_DATABASE = "ANALYTICS_DEV", "RAW_DEV"
CHANGED_MODEL = "dbt_project/models/staging/stg_payments__payments.sql"


def identity() -> SnowflakeIdentity:
    return SnowflakeIdentity("bench", "SVC_BENCH", "DEPLOYER", "BENCH_WH", DATABASE, password="x")


def seed_raw(synthetic: Path, project: Path) -> None:
    """The synthetic raw tables where the dbt sources name them for Snowflake (``RAW_DEV.<source
    schema>.<table>``), copied in through fakesnow's DuckDB connection (its own loading path)."""
    with snowflake.connector.connect(database=RAW_DATABASE) as con:
        duck = con._duck_conn  # fakesnow's DuckDB: ATTACH is the fast way to bring rows in
        duck.execute(f"ATTACH '{synthetic}' AS synthetic (READ_ONLY)")
        tables = source_tables(
            project, DbtTarget("snowflake", DATABASE), {"FINSIGHT_RAW_DATABASE": RAW_DATABASE}
        )
        local = {t.dbt_name: t for t in source_tables(project, DbtTarget("duckdb", "synthetic"))}
        for table in tables:
            duck.execute(f"CREATE SCHEMA IF NOT EXISTS {table.database}.{table.schema}")
            duck.execute(
                f"CREATE TABLE {table.database}.{table.schema}.{table.identifier} AS "
                f"SELECT * FROM synthetic.{RAW_SCHEMA}.{local[table.dbt_name].identifier}"
            )


def timed(step: partial[object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def run(scale: int, rounds: int, work: Path) -> dict[str, float | int | list[str]]:
    repo = ReleaseRepository(LocalObjectStore(work / "store"))
    v1_tree = copy_platform(REPO_ROOT, work / "v1")
    v2_tree = copy_platform(REPO_ROOT, work / "v2")
    changed = v2_tree / CHANGED_MODEL
    changed.write_text(changed.read_text() + "-- v2: one staging model changed\n")
    v1, _ = repo.build(v1_tree, "bench")
    v2, _ = repo.build(v2_tree, "bench")
    generate_warehouse(work / "synthetic.duckdb", scale=scale)
    environment = SnowflakeEnvironment(DATABASE, identity, {"FINSIGHT_RAW_DATABASE": RAW_DATABASE})
    target = SnowflakeWarehouseTarget(
        work / "projects", {str(DEV): environment}, switch_mode="views"
    )

    def deploy(manifest: ReleaseManifest) -> None:
        artifacts = manifest.of_kind(ArtifactKind.DBT_PROJECT)
        target.prepare(DEV, manifest, artifacts, repo)
        target.switch(DEV, manifest, artifacts)

    def switch(manifest: ReleaseManifest) -> None:
        target.switch(DEV, manifest, manifest.of_kind(ArtifactKind.DBT_PROJECT))

    with fakesnow.patch():
        seed_raw(work / "synthetic.duckdb", v1_tree / "dbt_project")
        compile_s = timed(
            partial(target.version, DEV, v1.of_kind(ArtifactKind.DBT_PROJECT)[0], repo)
        )
        first_s = timed(partial(deploy, v1))
        first_models = target.built_models
        change_s = timed(partial(deploy, v2))
        change_models = target.built_models
        rollbacks, promotes = [], []
        for _ in range(rounds):
            rollbacks.append(timed(partial(switch, v1)))
            promotes.append(timed(partial(switch, v2)))
        diffs = target.diffs(DEV, v2.release_id)
        judge_start = time.perf_counter()
        judgement = snowflake_release_checks(target, DEV, JUDGED_AT)
        judge_s = time.perf_counter() - judge_start
        problems = target.verify(DEV, v2, v2.of_kind(ArtifactKind.DBT_PROJECT))
        if problems:
            raise SystemExit(f"verify after the last switch: {problems}")
        with snowflake.connector.connect(database=DATABASE) as con:
            cur = con.cursor()
            cur.execute("SELECT COUNT(*) FROM analytics.stg_payments__payments")
            (staging_rows,) = cur.fetchone()
            cur.execute("SELECT COUNT(*) FROM analytics.fct_payments")
            (mart_rows,) = cur.fetchone()
    return {
        "scale": scale,
        "compile_s": round(compile_s, 3),
        "first_release_models_built": first_models,
        "first_release_s": round(first_s, 3),
        "one_model_change_models_built": change_models,
        "one_model_change_s": round(change_s, 3),
        "rollback_s": round(statistics.median(rollbacks), 3),
        "promote_s": round(statistics.median(promotes), 3),
        "staging_rows": int(staging_rows),
        "mart_rows": int(mart_rows),
        "data_diffs": len(diffs),
        "data_diffs_blocking": sum(d.blocking for d in diffs),
        "judge_s": round(judge_s, 3),
        "judge_checks": len(judgement.results),
        "judge_failed": sorted(r.line() for r in judgement.results if not r.passed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--scale", type=int, default=1, help="synthetic data scale")
    parser.add_argument("--rounds", type=int, default=3, help="rollback/promote round trips")
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "Unsupported property" per TRANSIENT
    with tempfile.TemporaryDirectory(prefix="finsight-bench-snowflake-") as tmp:
        result = run(args.scale, args.rounds, Path(tmp))
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
