"""Benchmark of the release core: build, rebuild, pointer promotion (local and S3), audit verify, and
promotion and rollback end to end.

    python benchmarks/release_core.py [--json]

Targets: build <= 10 s, rebuild <= 2 s, promotion/rollback <= 100 ms local and <= 1 s on S3 (moto's
server over HTTP on loopback), audit verify of 100,000 events <= 5 s.

``promote_e2e_s`` / ``rollback_e2e_s`` time the whole system the CLI runs (``ReleaseSystem.deployer``:
the SQLite audit log, both gates, the DuckDB warehouse and the folder target) on the reference
platform, for a DAG-only change (median of 3) and for a one-model dbt change (the promotion builds the
new project version with dbt, once; the rollback switches the views back).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.audit_verify import bench_audit_verify  # noqa: E402
from finsight_release.demo import copy_platform  # noqa: E402
from finsight_release.envs.environment import Environment  # noqa: E402
from finsight_release.envs.promotion import Deployer  # noqa: E402
from finsight_release.observe.logging import configure_logging  # noqa: E402
from finsight_release.release.artifact import ArtifactKind  # noqa: E402
from finsight_release.release.repository import ReleaseRepository  # noqa: E402
from finsight_release.settings import REPO_ROOT, load_settings  # noqa: E402
from finsight_release.store.base import ObjectStore  # noqa: E402
from finsight_release.store.local import LocalObjectStore  # noqa: E402
from finsight_release.store.s3 import S3ObjectStore  # noqa: E402
from finsight_release.system import ReleaseSystem  # noqa: E402
from finsight_release.targets.folder import FolderTarget  # noqa: E402

TARGETS = {
    "build_s": 10.0,
    "rebuild_s": 2.0,
    "promote_local_s": 0.1,
    "promote_s3_s": 1.0,
    "audit_verify_100k_s": 5.0,
}
DAG_FILE = "release_assets/airflow/dags/reconciliation/ledger_vs_payments.py"
# A staging model: the dbt change rebuilds it and the models downstream of it.
DBT_FILE = "dbt_project/models/staging/stg_payments__payments.sql"


class NullAudit:
    """The benchmark times pointer moves; the audit log is timed on its own below."""

    def append(self, **fields: object) -> None:
        return None


def timed(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def dag_only_pair(repo: ReleaseRepository, platform: Path, work: Path) -> tuple[str, str]:
    """v1 = the platform; v2 = a copy with one DAG file changed (the fast path)."""
    v1, _ = repo.build(platform, "bench")
    copy = work / "platform-v2"
    shutil.copytree(platform / "release_assets", copy / "release_assets", symlinks=True)
    shutil.copytree(
        platform / "dbt_project",
        copy / "dbt_project",
        symlinks=True,
        ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"),
    )
    dag = copy / DAG_FILE
    dag.write_text(dag.read_text() + "\n# bench change\n")
    v2, _ = repo.build(copy, "bench", base=v1)
    return v1.release_id, v2.release_id


def bench_promotions(store: ObjectStore, platform: Path, work: Path, rounds: int) -> float:
    """Median seconds of a DAG-only promotion or rollback in dev (pointer CAS + DAG bundle switch)."""
    repo = ReleaseRepository(store)
    v1, v2 = dag_only_pair(repo, platform, work)
    target = FolderTarget(work / "targets", frozenset({ArtifactKind.AIRFLOW_DAGS}))
    deployer = Deployer(repo=repo, targets=[target], audit=NullAudit(), actor="bench")
    deployer.promote(Environment.DEV, v1)
    deployer.promote(Environment.DEV, v2)  # stage both versions once, as a warm target would have
    deployer.rollback(Environment.DEV)
    samples = []
    for _ in range(rounds):
        samples.append(timed(lambda: deployer.promote(Environment.DEV, v2)))
        samples.append(timed(lambda: deployer.rollback(Environment.DEV)))
    return statistics.median(samples)


def bench_end_to_end(platform: Path, work: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Promotion and rollback seconds through the real system, per change kind."""
    system = ReleaseSystem(
        load_settings(home=work / "home", platform=platform, actor="bench", require_validation=())
    )
    deployer, dev = system.deployer, Environment.DEV
    v1, _ = system.build(platform)
    deployer.promote(
        dev, v1.release_id
    )  # warm: raw data generated, v1's dbt version built and published
    dag_tree = copy_platform(platform, work / "platform-dag")
    dag = dag_tree / DAG_FILE
    dag.write_text(dag.read_text() + "\n# bench change\n")
    dbt_tree = copy_platform(platform, work / "platform-dbt")
    model = dbt_tree / DBT_FILE
    model.write_text(model.read_text().rstrip() + "\n-- bench change\n")
    v_dag, _ = system.build(dag_tree)
    v_dbt, _ = system.build(dbt_tree)
    promote, rollback = [], []
    for _ in range(3):
        promote.append(timed(lambda: deployer.promote(dev, v_dag.release_id)))
        rollback.append(timed(lambda: deployer.rollback(dev)))
    promote_dbt = timed(lambda: deployer.promote(dev, v_dbt.release_id))
    rollback_dbt = timed(lambda: deployer.rollback(dev))
    return (
        {"dag_only": statistics.median(promote), "dbt_one_model": promote_dbt},
        {"dag_only": statistics.median(rollback), "dbt_one_model": rollback_dbt},
    )


def run(platform: Path) -> dict[str, float | dict[str, float]]:
    configure_logging(open(os.devnull, "w"))  # noqa: SIM115 - benchmark output is the table only
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    results: dict[str, float | dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        repo = ReleaseRepository(LocalObjectStore(work / "store"))
        results["build_s"] = timed(lambda: repo.build(platform, "bench"))
        results["rebuild_s"] = timed(lambda: repo.build(platform, "bench"))
        results["promote_local_s"] = bench_promotions(
            LocalObjectStore(work / "s2"), platform, work / "l", 10
        )
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            client = boto3.client(
                "s3",
                endpoint_url=f"http://{host}:{port}",
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
            )
            client.create_bucket(Bucket="finsight-release-bench")
            store = S3ObjectStore("s3://finsight-release-bench/state", client=client)
            results["promote_s3_s"] = bench_promotions(store, platform, work / "s", 5)
        finally:
            server.stop()
    results["audit_verify_100k_s"] = bench_audit_verify(100_000)
    with tempfile.TemporaryDirectory() as tmp:
        results["promote_e2e_s"], results["rollback_e2e_s"] = bench_end_to_end(platform, Path(tmp))
    return results


def _rounded(value: float | dict[str, float]) -> float | dict[str, float]:
    return (
        {k: round(v, 4) for k, v in value.items()} if isinstance(value, dict) else round(value, 4)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--platform", type=Path, default=REPO_ROOT)
    args = parser.parse_args()
    results = run(args.platform.resolve())
    flat = {
        f"{key}.{sub}" if isinstance(value, dict) else key: number
        for key, value in results.items()
        for sub, number in (value.items() if isinstance(value, dict) else [("", value)])
    }
    if args.json:
        print(json.dumps({k: _rounded(v) for k, v in results.items()}))
        return
    print(f"{'measure':<36}{'seconds':>10}{'target':>10}  ok")
    for key, value in flat.items():
        target = TARGETS.get(key)
        verdict = "-" if target is None else "yes" if value <= target else "NO"
        print(f"{key:<36}{value:>10.4f}{target if target is not None else '-':>10}  {verdict}")


if __name__ == "__main__":
    main()
