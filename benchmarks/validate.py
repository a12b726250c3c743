"""Benchmark of pre-deploy validation on the reference platform, side by side with a plain DagBag.

    python benchmarks/validate.py [--json]

In one run: (a) a plain DagBag load of the 120 DAGs in the Airflow venv (one process, as the
scheduler would), (b) our DAG validation (DagBags in two parallel shards plus parse times, duplicate
ids, connections and Variables against the env config), (c) one changed DAG file end to end against a
base release, with a cold cache (every DAG file parsed once to learn its DAG ids) and with the DAG-id
index warm (only the changed file parsed), (d) `validate --all` with every check, cold cache.
Targets: all <= 60 s, one DAG <= 10 s, DAG validation <= 1.5x plain DagBag.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.envs.environment import Environment  # noqa: E402
from finsight_release.release.repository import ReleaseRepository  # noqa: E402
from finsight_release.settings import REPO_ROOT, load_settings  # noqa: E402
from finsight_release.store.local import LocalObjectStore  # noqa: E402
from finsight_release.validate.airflow.dagbag import AirflowDagsCheck  # noqa: E402
from finsight_release.validate.check import ValidationContext  # noqa: E402
from finsight_release.validate.registry import default_checks  # noqa: E402
from finsight_release.validate.release_validation import ValidationRequest, validate_release  # noqa: E402

DAGS = REPO_ROOT / "release_assets/airflow/dags"
PLAIN = "import sys\nfrom airflow.models.dagbag import DagBag\nb = DagBag(sys.argv[1], include_examples=False)\n"
CHANGED_DAG = "reconciliation/ledger_vs_payments.py"


def timed(fn) -> tuple[float, object]:  # noqa: ANN001
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def plain_dagbag(python: Path) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "PYTHONPATH": str(DAGS),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "release_assets/airflow/plugins"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }
        seconds, _ = timed(
            lambda: subprocess.run(
                [str(python), "-c", PLAIN, str(DAGS)], env=env, check=True, capture_output=True
            )
        )
    return seconds


def run() -> dict[str, float]:
    python = load_settings().airflow_python
    results: dict[str, float] = {"dagbag_plain_s": plain_dagbag(python)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        repo = ReleaseRepository(LocalObjectStore(work / "store"))
        artifacts = repo.scan(REPO_ROOT)
        dags = [a for a in artifacts if a.name == "airflow/dags"]
        ctx = ValidationContext(platform=REPO_ROOT, env="prod", airflow_python=python)
        results["dag_validation_s"], _ = timed(lambda: AirflowDagsCheck().run(ctx, dags))
        base, _ = repo.build(REPO_ROOT, "bench")
        tree = work / "changed"
        for part in ("release_assets", "dbt_project"):
            shutil.copytree(
                REPO_ROOT / part, tree / part, ignore=shutil.ignore_patterns("target", "logs")
            )
        dag = tree / "release_assets/airflow/dags" / CHANGED_DAG
        dag.write_text(dag.read_text() + "\n# one changed DAG\n")
        one = ValidationRequest(tree, Environment.PROD, base.release_id)
        spark = load_settings().spark_python
        results["one_dag_s"], _ = timed(
            lambda: validate_release(
                one, repo, default_checks(), work / "cold", python, spark_python=spark
            )
        )
        # The usual CI case: $FINSIGHT_HOME kept between runs, so the DAG-id index already knows the
        # base's files (filled here by one full parse of the base tree) and only the changed DAG is parsed.
        warm = work / "warm"
        AirflowDagsCheck().run(replace(ctx, cache_dir=warm / "validate-cache"), dags)
        results["one_dag_warm_index_s"], _ = timed(
            lambda: validate_release(one, repo, default_checks(), warm, python, spark_python=spark)
        )
        everything = ValidationRequest(REPO_ROOT, Environment.PROD, None, validate_all=True)
        results["all_s"], _ = timed(
            # warehouse_dir: a never-deployed one, so the warehouse preflight runs (INFO) and is timed too
            lambda: validate_release(
                everything,
                repo,
                default_checks(),
                work / "fresh",
                python,
                warehouse_dir=work / "warehouse",
                spark_python=spark,
            )
        )
    results["ratio"] = results["dag_validation_s"] / results["dagbag_plain_s"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="validation benchmark")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run()
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in results.items()}))
        return
    targets = {
        "all_s": "<= 60",
        "one_dag_s": "<= 10",
        "one_dag_warm_index_s": "<= 10",
        "dagbag_plain_s": "baseline",
        "dag_validation_s": "<= 1.5x baseline",
        "ratio": "<= 1.5",
    }
    print(f"{'measure':<22}{'value':>9}  target")
    for key in (
        "dagbag_plain_s",
        "dag_validation_s",
        "ratio",
        "one_dag_s",
        "one_dag_warm_index_s",
        "all_s",
    ):
        print(f"{key:<22}{results[key]:>9.3f}  {targets[key]}")


if __name__ == "__main__":
    main()
