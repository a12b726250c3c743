"""Benchmark: DAG-only deploys of the reference bundle (120 DAGs) to a running Airflow 2.10.5.

    python benchmarks/airflow_deploy.py [--json]

Setup (not timed): the reference ``release_assets/airflow`` tree (v1) and a copy with two critical DAG
files changed (v2, a retries tweak) are built into a temporary store; v1 is published to dev's dags
folder; Airflow (``finsight_release/targets/local_airflow.py``: SQLite, SequentialExecutor, the DAG
processor settings printed below) starts on it and registers all 120 DAGs.

Timed:

* ``deploy_s``: ``promote dev v2`` through the self-managed target, from the call to verified healthy
  (paused, swapped, both changed files re-parsed, no import error, every affected DAG registered
  with the new source, unpaused). ``parse_wait_s`` is the share spent waiting for the DAG processor.
* ``rollback_s``: ``rollback dev`` back to v1, the same checks (previous version live, import-error free).
* ``critical_start_s``: after v2 is promoted again, a smoke run of each of the five critical DAGs is
  triggered through the API; the slowest one's start (DAG run ``start_date``) after the deploy. Their
  tasks need Snowflake and PostgreSQL, which do not exist here, so success is not required
  (``must_succeed=False``); the runs are failed and the DAGs paused again afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.audit.log import AuditLog  # noqa: E402
from finsight_release.envs.environment import Environment  # noqa: E402
from finsight_release.envs.promotion import Deployer  # noqa: E402
from finsight_release.observe.logging import configure_logging  # noqa: E402
from finsight_release.release.artifact import ArtifactKind  # noqa: E402
from finsight_release.release.repository import ReleaseRepository  # noqa: E402
from finsight_release.settings import REPO_ROOT, load_settings  # noqa: E402
from finsight_release.store.local import LocalObjectStore  # noqa: E402
from finsight_release.targets.airflow_start import StartCheck, critical_dags, measure_starts  # noqa: E402
from finsight_release.targets.local_airflow import PARSE_SETTINGS, LocalAirflow  # noqa: E402
from finsight_release.targets.self_managed import SelfManagedAirflowTarget  # noqa: E402

DEV = Environment.DEV
DAGS = "airflow/dags"
CHANGED = {  # v2: the retries of two critical DAGs' files
    "reconciliation/ledger_vs_payments.py": ("retries=1", "retries=2"),
    "transform/dbt_build_marts.py": ("retries=1", "retries=2"),
}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def platform_copy(dest: Path, change: bool) -> Path:
    """The reference Airflow tree (DAGs, requirements, plugins) under ``dest``, v2 with CHANGED."""
    shutil.copytree(
        REPO_ROOT / "release_assets" / "airflow",
        dest / "release_assets" / "airflow",
        ignore=shutil.ignore_patterns("__pycache__", "tools"),
    )
    if change:
        for rel, (old, new) in CHANGED.items():
            path = dest / "release_assets" / "airflow" / "dags" / rel
            text = path.read_text()
            assert old in text, (rel, old)
            path.write_text(text.replace(old, new, 1))
    return dest


def wait_registered(airflow: LocalAirflow, count: int, timeout_s: float = 300) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if len(airflow.api.dags()) >= count:
            return time.perf_counter() - start
        time.sleep(1)
    raise SystemExit(f"Airflow registered fewer than {count} DAGs in {timeout_s} s")


def run(root: Path) -> dict[str, object]:
    repo = ReleaseRepository(LocalObjectStore(root / "store"))
    audit = AuditLog(f"sqlite:///{root / 'audit.db'}", anchor=repo.store)
    v1, _ = repo.build(platform_copy(root / "p1", change=False), "benchmark")
    v2, _ = repo.build(platform_copy(root / "p2", change=True), "benchmark")
    kinds = frozenset({ArtifactKind.AIRFLOW_DAGS})
    seed = SelfManagedAirflowTarget(root / "targets", kinds)
    dags = v1.artifact(DAGS)
    assert dags is not None
    seed.apply(DEV, v1, [dags], repo)
    airflow = LocalAirflow(
        load_settings(home=root / "home").airflow_python,
        root / "airflow",
        seed.live_path(DEV, DAGS),
        free_port(),
    )
    started = time.perf_counter()
    airflow.start()
    try:
        start_s = time.perf_counter() - started
        register_s = wait_registered(airflow, 120)
        target = SelfManagedAirflowTarget(root / "targets", kinds, {DEV: airflow.endpoint})
        deployer = Deployer(repo, [target], audit, "benchmark")
        deployer.promote(DEV, v1.release_id)  # already live: recorded only

        t = time.perf_counter()
        deployer.promote(DEV, v2.release_id)
        deploy_s = time.perf_counter() - t
        deploy = target.last_switch
        assert deploy is not None

        t = time.perf_counter()
        deployer.rollback(DEV)
        rollback_s = time.perf_counter() - t
        rollback = target.last_switch
        assert rollback is not None

        deployer.promote(DEV, v2.release_id)
        again = target.last_switch
        assert again is not None and again.switched_at is not None
        critical = critical_dags(airflow.api)
        starts = measure_starts(
            airflow.api,
            [StartCheck(d, must_succeed=False) for d in critical],
            again.switched_at,
            poll_s=0.25,
        )
        for dag_id in critical:  # stop the runs whose tasks would try to reach Snowflake
            for r in airflow.api.dag_runs(dag_id, ("queued", "running")):
                airflow.api.set_run_state(dag_id, r["dag_run_id"], "failed")
    finally:
        airflow.stop()
    measured = [s.started_s for s in starts if s.started_s is not None]
    return {
        "deploy_s": round(deploy_s, 3),
        "rollback_s": round(rollback_s, 3),
        "critical_start_s": max(measured) if len(measured) == len(starts) else None,
        "deploy_parse_wait_s": round(deploy.parse_wait_s, 3),
        "rollback_parse_wait_s": round(rollback.parse_wait_s, 3),
        "deploy_changed_files": deploy.changed_files,
        "deploy_dag_files": deploy.dag_files,
        "critical_starts": {s.dag_id: s.started_s for s in starts},
        "airflow_start_s": round(start_s, 3),
        "airflow_register_120_s": round(register_s, 3),
        "dag_processor": {k.split("__")[-1].lower(): v for k, v in PARSE_SETTINGS.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Airflow deploy benchmark")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging(open(os.devnull, "w"))  # noqa: SIM115
    with tempfile.TemporaryDirectory(prefix="finsight-airflow-bench-") as tmp:
        result = run(Path(tmp))
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:<26}{value}")
    print("targets: deploy_s <= 60, rollback_s <= 30, critical_start_s far under 600")


if __name__ == "__main__":
    main()
