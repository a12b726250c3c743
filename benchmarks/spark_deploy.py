"""Benchmark of Spark job deploys: one changed job published, switched and verified, and its rollback.

    python benchmarks/spark_deploy.py [--json] [--jobs 15]

One run, through the same ``ReleaseSystem.deployer`` the CLI uses (audit log, gates, targets), on a
platform tree holding the reference platform's first ``--jobs`` Spark jobs (all 15 by default), with
the artifact location a local folder under FINSIGHT_HOME:

- ``first_release_s``: v1 promoted to dev (every job's wheel built, imported on the runtime, published,
  switched, and every published wheel smoke-run: the cost of a first deploy, not of a change);
- ``deploy_s``: v2, whose only change is one job (``merchant_risk_scoring``), promoted to dev: its
  wheel built and import-checked (``prepare_s``), the job definitions switched (``switch_s``), its
  published wheel downloaded, installed on the Spark runtime and smoke-run (``verify_s``);
- ``rollback_s``: dev rolled back to v1 (nothing rebuilt or republished: the switch back, then the
  smoke run of the restored wheel).

Targets: deploy_s <= 60, rollback_s <= 60 (the smoke run's JVM start is most of both).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.envs.environment import Environment  # noqa: E402
from finsight_release.observe.logging import configure_logging  # noqa: E402
from finsight_release.settings import REPO_ROOT, load_settings  # noqa: E402
from finsight_release.system import ReleaseSystem  # noqa: E402
from finsight_release.targets.spark.target import SparkJobTarget  # noqa: E402

DEV = Environment.DEV
CHANGED = "merchant_risk_scoring"
TARGETS = {"deploy_s": 60.0, "rollback_s": 60.0}


def timed(target: SparkJobTarget, seconds: dict[str, float]) -> None:
    """Record the time of each of the target's phases into ``seconds`` (last call wins)."""
    for phase in ("prepare", "switch", "verify"):
        method: Callable[..., Any] = getattr(target, phase)

        def wrapper(*args: Any, _method: Callable[..., Any] = method, _phase: str = phase) -> Any:
            start = time.perf_counter()
            try:
                return _method(*args)
            finally:
                seconds[_phase] = time.perf_counter() - start

        setattr(target, phase, wrapper)


def platform_tree(dest: Path, jobs: int) -> Path:
    """The first ``jobs`` reference Spark jobs (always including the one v2 changes)."""
    source = REPO_ROOT / "release_assets" / "spark"
    names = sorted(p.name for p in source.iterdir() if (p / "job.yaml").is_file())
    chosen = sorted({CHANGED, *[n for n in names if n != CHANGED][: max(0, jobs - 1)]})
    for name in chosen:
        shutil.copytree(
            source / name,
            dest / "release_assets" / "spark" / name,
            ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"),
        )
    return dest


def run(jobs: int, work: Path) -> dict[str, float | int]:
    tree = platform_tree(work / "platform", jobs)
    settings = load_settings(
        home=work / "home", platform=tree, actor="bench", require_validation=(), spark_deploy=True
    )
    system = ReleaseSystem(settings)
    (target,) = system.spark_targets
    phases: dict[str, float] = {}
    timed(target, phases)
    v1, _ = system.build(tree, DEV)
    start = time.perf_counter()
    system.deployer.promote(DEV, v1.release_id)
    first_release_s = time.perf_counter() - start

    main = tree / "release_assets" / "spark" / CHANGED / "src" / CHANGED / "main.py"
    main.write_text(main.read_text() + "\n# v2\n")
    v2, _ = system.build(tree, DEV)
    start = time.perf_counter()
    system.deployer.promote(DEV, v2.release_id)
    deploy_s = time.perf_counter() - start
    deploy_phases = dict(phases)

    start = time.perf_counter()
    system.deployer.rollback(DEV)
    rollback_s = time.perf_counter() - start
    return {
        "jobs": len(v1.artifacts),
        "first_release_s": round(first_release_s, 3),
        "deploy_s": round(deploy_s, 3),
        "prepare_s": round(deploy_phases["prepare"], 3),
        "switch_s": round(deploy_phases["switch"], 3),
        "verify_s": round(deploy_phases["verify"], 3),
        "rollback_s": round(rollback_s, 3),
        "rollback_switch_s": round(phases["switch"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--jobs", type=int, default=15, help="reference Spark jobs in the tree")
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="finsight-bench-spark-") as tmp:
        result = run(args.jobs, Path(tmp))
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        target = TARGETS.get(key)
        verdict = "" if target is None else ("  ok" if value <= target else f"  over {target} s")
        print(f"{key:20} {value}{verdict}")


if __name__ == "__main__":
    main()
