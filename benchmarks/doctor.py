"""Benchmark: `doctor` on the embedded default (target <= 20 s).

    python benchmarks/doctor.py [--json]

Setup (not timed): the reference platform is built and promoted to dev in a temporary FINSIGHT_HOME
(one real dbt build). Timed: every doctor layer against that environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.diagnose.doctor import run_doctor  # noqa: E402
from finsight_release.diagnose.layers import secret_refs  # noqa: E402
from finsight_release.envs.environment import Environment  # noqa: E402
from finsight_release.observe.logging import configure_logging  # noqa: E402
from finsight_release.settings import REPO_ROOT, load_settings  # noqa: E402
from finsight_release.system import ReleaseSystem  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="doctor benchmark")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging(open(os.devnull, "w"))  # noqa: SIM115
    with tempfile.TemporaryDirectory() as home:
        system = ReleaseSystem(load_settings(home=Path(home), platform=REPO_ROOT))
        manifest, _ = system.build(REPO_ROOT)
        system.deployer.promote(Environment.DEV, manifest.release_id)
        ctx = system.doctor_context(Environment.DEV)
        for ref in secret_refs(
            ctx.config
        ):  # dev's env: references, as a developer's shell would set them
            if ref.startswith("env:"):
                os.environ.setdefault(ref.removeprefix("env:"), "benchmark")
        start = time.perf_counter()
        report = run_doctor(ctx)
        seconds = time.perf_counter() - start
    layers = {layer.layer: [layer.status, layer.seconds] for layer in report.layers}
    if args.json:
        print(json.dumps({"doctor_s": round(seconds, 3), "ok": report.ok, "layers": layers}))
        return
    print(f"{'layer':<14}{'status':<9}{'seconds':>8}")
    for name, (status, secs) in layers.items():
        print(f"{name:<14}{status:<9}{secs:>8.3f}")
    print(f"{'total':<23}{seconds:>8.3f}  (target <= 20 s, ok={report.ok})")


if __name__ == "__main__":
    main()
