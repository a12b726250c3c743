"""End-to-end release loop on a real dagster-webserver and dagster-daemon (bake time zero, sensors
every 2 s): a DAG-only change from CI's GraphQL build submission to prod live (dev and staging by the
sensors, prod by a person's GraphQL launch), and from a failing blocking check downstream of prod's
change to the previous release live again (the rollback sensor).

    python benchmarks/release_e2e.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.automation.release_loop import run_loop  # noqa: E402

TARGETS = {"submit_to_prod_s": 120.0, "check_fail_to_rollback_s": 30.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="finsight-e2e-") as tmp:
        times = run_loop(Path(tmp))
    result = {
        "submit_to_prod_s": round(times.submit_to_prod_s, 1),
        "check_fail_to_rollback_s": round(times.check_fail_to_rollback_s, 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{'measure':<28}{'seconds':>9}{'target':>9}")
    for key, value in result.items():
        print(f"{key:<28}{value:>9.1f}{TARGETS[key]:>9.0f}")


if __name__ == "__main__":
    main()
