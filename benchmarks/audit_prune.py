"""Benchmark: prune an audit log of 180 days past a 90-day retention (export, anchor, delete).

    python benchmarks/audit_prune.py [--json] [--events N]

Setup writes N real chained events (default 18,000: about 100 a day, 3 in 100 a production change)
spread evenly over the last 180 days in one transaction (as
``audit_verify.py`` does: the append path's per-event write lock is right for production and slow for
filling a benchmark). Measured: the prune the CLI and ``prune_audit_job`` run (whole-chain verify,
export of the older half as an evidence bundle, its read-back verification, anchor, delete) and the
``audit verify`` of what is left, from the anchor.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.audit_verify import fill_chain  # noqa: E402
from finsight_release.audit.log import AuditLog  # noqa: E402
from finsight_release.audit.prune import plan_prune, prune_audit  # noqa: E402
from finsight_release.audit.verify import verify_chain  # noqa: E402
from finsight_release.store.local import LocalObjectStore  # noqa: E402


def fill_days(log: AuditLog, n: int, days: int, now: datetime) -> None:
    """``n`` chained promote events, evenly from ``days`` ago to now, in one transaction."""
    step = timedelta(days=days) / n

    def spread(seq: int) -> dict[str, Any]:
        return {
            "ts": (now - timedelta(days=days) + step * seq).isoformat(timespec="microseconds"),
            # FinSight's pace: ~100 audit events a day, 20 production releases a week (~3 in 100)
            "environment": "prod" if seq % 33 == 0 else ("dev", "staging")[seq % 2],
            "details": {"operation_id": f"promote-{seq}"},
        }

    fill_chain(log, n, spread)


def bench_audit_prune(n: int) -> dict[str, float | int]:
    """Seconds to prune the older half of an ``n``-event, 180-day log and to verify the rest."""
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = AuditLog(f"sqlite:///{root / 'audit.db'}")
        fill_days(log, n, 180, now)
        started = time.perf_counter()
        plan = plan_prune(log, 90, now)
        result = prune_audit(
            log, LocalObjectStore(root / "store"), LocalObjectStore(root / plan.folder), plan, "ci"
        )
        prune_s = time.perf_counter() - started
        started = time.perf_counter()
        after = verify_chain(log)
        verify_s = time.perf_counter() - started
        if not after.ok or result.anchor is None:
            raise SystemExit(f"prune left a log that does not verify: {after.message}")
        return {
            "events": n,
            "pruned": result.pruned,
            "prune_s": round(prune_s, 2),
            "verify_after_s": round(verify_s, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--events", type=int, default=18_000)
    args = parser.parse_args()
    measured = bench_audit_prune(args.events)
    if args.json:
        sys.stdout.write(json.dumps(measured) + "\n")
        return
    sys.stdout.write(f"{'measure':<40}{'value':>10}\n")
    for key, value in measured.items():
        sys.stdout.write(f"{key:<40}{value:>10}\n")


if __name__ == "__main__":
    main()
