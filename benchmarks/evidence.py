"""Benchmark: evidence over 90 days of history at FinSight's pace (targets: export <= 10 s, as-of
<= 1 s, DORA report <= 5 s).

    python benchmarks/evidence.py [--json] [--days N]

The history is generated through the real core (release builds, the Deployer's promotions and
rollbacks with a folder target, the hash-chained audit log with its head marker, pointer history),
each operation at its own instant by moving the clock (time-machine): per day 12 releases built and
promoted to dev, 10 of them to staging, on weekdays 4 to prod (20 a week), one dev rollback a day,
and each week a prod release marked unhealthy and rolled back. About 27 changes a day across
environments. Then: ``evidence export`` of prod's 90 days to a new directory (and its offline
verify), ``as-of`` of every environment at an instant 45 days back, and the DORA HTML report.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.envs.environment import Environment  # noqa: E402
from finsight_release.envs.promotion import Deployer  # noqa: E402
from finsight_release.observe.logging import configure_logging  # noqa: E402
from finsight_release.release.artifact import ArtifactKind  # noqa: E402
from finsight_release.settings import load_settings  # noqa: E402
from finsight_release.system import ReleaseSystem  # noqa: E402
from finsight_release.targets.folder import FolderTarget  # noqa: E402
from tests.mini_platform import make_platform  # noqa: E402

RELEASES_PER_DAY = 12
TO_STAGING = 10
TO_PROD_ON_WEEKDAYS = (0, 3, 6, 9)  # 4 a weekday: 20 production releases a week


def generate(system: ReleaseSystem, days: int, now: datetime) -> dict[str, int]:
    """``days`` of history ending before ``now``; returns counts of what was done."""
    deployer = Deployer(
        repo=system.repo,
        targets=[
            FolderTarget(
                system.settings.home / "targets",
                frozenset(ArtifactKind) - {ArtifactKind.DBT_PROJECT},
            )
        ],
        audit=system.audit,
        actor="ci",
        metrics=system.metrics,
    )
    tree = make_platform(system.settings.home / "tree", without="dbt_project")
    dag = tree / "release_assets" / "airflow" / "dags" / "ingest_core.py"
    counts = {"releases": 0, "changes": 0, "prod": 0}
    start = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    base = None
    for day in range(days):
        moment = start + timedelta(days=day, hours=7)
        weekday = moment.weekday() < 5

        def at(minutes: float, moment: datetime = moment) -> Any:
            return time_machine.travel(moment + timedelta(minutes=minutes), tick=False)

        for i in range(RELEASES_PER_DAY):
            slot = i * 50
            dag.write_text(f"# day {day} release {i}\nDAG_ID = 'ingest_core'\n")
            with at(slot):
                manifest, _ = system.repo.build(tree, "ci", base)
                system.audit.append(
                    actor="ci",
                    action="build",
                    release_id=manifest.release_id,
                    digests=manifest.digests,
                    outcome="ok",
                )
            base = manifest
            counts["releases"] += 1
            with at(slot + 5):
                deployer.promote(Environment.DEV, manifest.release_id)
                deployer.mark_health(  # the post-deploy checks passed
                    Environment.DEV, manifest.release_id, True, "checks passed"
                )
            counts["changes"] += 1
            if i < TO_STAGING:
                with at(slot + 15):
                    deployer.promote(Environment.STAGING, manifest.release_id)
                    deployer.mark_health(  # the post-deploy checks passed
                        Environment.STAGING, manifest.release_id, True, "checks passed"
                    )
                counts["changes"] += 1
            if weekday and i in TO_PROD_ON_WEEKDAYS:
                with at(slot + 30):
                    deployer.promote(Environment.PROD, manifest.release_id)
                counts["changes"] += 1
                counts["prod"] += 1
                if i == 9 and moment.weekday() == 2:  # Wednesdays: a bad prod release
                    with at(slot + 40):
                        deployer.mark_health(Environment.PROD, manifest.release_id, False, "soda")
                    with at(slot + 45):
                        deployer.rollback(Environment.PROD)
                    counts["changes"] += 1
            if i == 5:
                with at(slot + 20):
                    deployer.rollback(Environment.DEV)
                counts["changes"] += 1
    return counts


def bench(days: int) -> dict[str, Any]:
    """Generate the history, then time the export, the as-of query and the DORA report."""
    # Generated on tmpfs when there is one (every store write and audit commit fsyncs: on disk the
    # generation takes minutes), then copied to disk, where everything measured runs.
    scratch = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=scratch) as fast, tempfile.TemporaryDirectory() as tmp:
        configure_logging(open(os.devnull, "w"))  # noqa: SIM115 - the process's log stream
        made = load_settings(home=Path(fast) / "home", actor="auditor", require_validation=())
        now = datetime.now(UTC)
        began = time.perf_counter()
        counts = generate(ReleaseSystem(made), days, now)
        generate_s = time.perf_counter() - began
        home = Path(tmp) / "home"
        shutil.copytree(made.home, home, symlinks=True)
        settings = load_settings(home=home, actor="auditor", require_validation=())

        fresh = ReleaseSystem(settings)  # nothing cached from the generation
        began = time.perf_counter()
        exported = fresh.export_evidence(
            Environment.PROD,
            (now - timedelta(days=days)).date().isoformat(),
            now.date().isoformat(),
            str(Path(tmp) / "bundle"),
        )
        export_s = time.perf_counter() - began
        began = time.perf_counter()
        check = fresh.verify_evidence(str(Path(tmp) / "bundle"))
        verify_s = time.perf_counter() - began

        began = time.perf_counter()
        answers = ReleaseSystem(settings).ran_at((now - timedelta(days=days / 2)).isoformat())
        as_of_s = time.perf_counter() - began
        if not all(a.release_id for a in answers):
            raise SystemExit("as-of found nothing deployed mid-history")

        began = time.perf_counter()
        dora = ReleaseSystem(settings).write_release_report(Path(tmp) / "report.html")
        dora_s = time.perf_counter() - began
        if check.changes != exported.changes:
            raise SystemExit("the exported bundle does not verify with all its changes")
        return {
            "export_90d_s": round(export_s, 3),
            "as_of_s": round(as_of_s, 3),
            "dora_s": round(dora_s, 3),
            "verify_bundle_s": round(verify_s, 3),
            "generate_s": round(generate_s, 1),
            "days": days,
            "releases": counts["releases"],
            "changes": counts["changes"],
            "prod_changes_exported": exported.changes,
            "audit_events_exported": exported.events,
            "dora_weeks": len(dora.weeks),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description="evidence export / as-of / DORA benchmark")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    result = bench(args.days)
    if args.json:
        print(json.dumps(result))
        return
    targets = {"export_90d_s": 10.0, "as_of_s": 1.0, "dora_s": 5.0}
    for key, target in targets.items():
        print(f"{key:>14} {result[key]:>8.3f} s  (target <= {target:.0f} s)")
    print(
        f"history: {result['days']} days, {result['releases']} releases, {result['changes']} changes,"
        f" {result['prod_changes_exported']} prod changes exported ({result['generate_s']} s to generate)"
    )


if __name__ == "__main__":
    main()
