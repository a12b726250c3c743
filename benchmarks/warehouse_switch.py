"""Benchmark of the warehouse target: promotion and rollback as view switches against a full dbt build.

    python benchmarks/warehouse_switch.py [--json] [--scale 100]

One run, one DuckDB warehouse with the synthetic raw data at ``--scale`` (100: ~700k raw rows):

- ``full_build_s``: a plain ``dbt build`` (40 models and their tests) of the reference project into
  its own schema, the baseline;
- the reference platform (v1) promoted to dev through the whole release system (every model built once
  into its physical relation, and the platform's other artifacts deployed), then v2, the demo's change
  (one mart, ``agg_daily_payments``, and a DAG's retries): ``one_model_change_models_built`` models rebuilt in
  ``one_model_change_s`` (the whole promotion, its prepare included), of which
  ``one_model_change_compile_s`` is the one ``dbt compile`` that fingerprints the new project version;
- ``rollback_s``: dev rolled back to v1; ``promote_s``: v2 promoted again (both prepared: switches
  only), each the median of ``--rounds`` round trips, through the same ``ReleaseSystem.deployer`` the
  CLI uses (audit log, gates, warehouse and DAG folder targets);
- ``rollback_data_current_s``: from the rollback's start until the background refresh of the restored
  tables has ended (the data is current again);
- ``ratio`` = full_build_s / promote_s.

Targets: promote_s and rollback_s <= 2 s, ratio >= 20.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.demo import copy_platform, make_v2_change  # noqa: E402
from finsight_release.envs.environment import Environment  # noqa: E402
from finsight_release.observe.logging import configure_logging  # noqa: E402
from finsight_release.reference.dbt_runner import dbt_build  # noqa: E402
from finsight_release.reference.synthetic import generate_warehouse  # noqa: E402
from finsight_release.settings import REPO_ROOT, load_settings  # noqa: E402
from finsight_release.system import ReleaseSystem  # noqa: E402

DEV = Environment.DEV
TARGETS = {"promote_s": 2.0, "rollback_s": 2.0}


def run(scale: int, rounds: int, work: Path) -> dict[str, float | int]:
    system = ReleaseSystem(load_settings(home=work / "home", actor="bench", require_validation=()))
    db = system.warehouse_target.database(DEV)
    generate_warehouse(db, scale=scale)
    v1_tree = copy_platform(REPO_ROOT, work / "v1")
    full_build_s = dbt_build(v1_tree / "dbt_project", db, schema="bench_full_build").seconds

    v1, _ = system.build(v1_tree)
    v2_tree = copy_platform(REPO_ROOT, work / "v2")
    make_v2_change(v2_tree)
    v2, _ = system.build(v2_tree)
    start = time.perf_counter()
    system.deployer.promote(DEV, v1.release_id)
    first_release_s = time.perf_counter() - start
    first_models = system.warehouse_target.built_models
    start = time.perf_counter()
    system.deployer.promote(DEV, v2.release_id)
    one_model_change_s = time.perf_counter() - start
    models_built = system.warehouse_target.built_models
    compile_s = system.warehouse_target.compile_seconds

    promotes, rollbacks, refreshes = [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        system.deployer.rollback(DEV)
        rollbacks.append(time.perf_counter() - start)
        # The restored tables are refreshed in the background (not part of the switch): wait for it
        # so the next operation does not wait for DuckDB's lock, and report how long it took.
        system.warehouse_target.wait_for_refresh(DEV)
        refreshes.append(time.perf_counter() - start)
        start = time.perf_counter()
        system.deployer.promote(DEV, v2.release_id)
        promotes.append(time.perf_counter() - start)
        system.warehouse_target.wait_for_refresh(DEV)
    promote_s, rollback_s = statistics.median(promotes), statistics.median(rollbacks)
    return {
        "scale": scale,
        "full_build_s": round(full_build_s, 3),
        "first_release_s": round(first_release_s, 3),
        "first_release_models_built": first_models,
        "one_model_change_models_built": models_built,
        "one_model_change_s": round(one_model_change_s, 3),
        "one_model_change_compile_s": round(compile_s, 3),
        "promote_s": round(promote_s, 3),
        "rollback_s": round(rollback_s, 3),
        "rollback_data_current_s": round(statistics.median(refreshes), 3),
        "ratio": round(full_build_s / promote_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--scale", type=int, default=100, help="synthetic data scale (100: ~700k rows)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rollback/promote round trips")
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="finsight-bench-warehouse-") as tmp:
        result = run(args.scale, args.rounds, Path(tmp))
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        target = TARGETS.get(key)
        verdict = "" if target is None else ("  ok" if value <= target else f"  over {target} s")
        print(f"{key:32} {value}{verdict}")
    print(f"{'ratio target':32} >= 20: {'ok' if result['ratio'] >= 20 else 'missed'}")


if __name__ == "__main__":
    main()
