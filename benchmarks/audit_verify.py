"""Benchmark: verify a 100,000-event audit chain (target <= 5 s).

    python benchmarks/audit_verify.py [--json] [--events N]

Setup writes real chained events in one transaction (the append path takes a write lock per event,
which is right for production and slow for filling a benchmark); the verify is the production path.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.audit.event import GENESIS_HASH, canonical_json, event_hash  # noqa: E402
from finsight_release.audit.log import COLUMNS, AuditLog  # noqa: E402
from finsight_release.audit.verify import verify_chain  # noqa: E402


def fill_chain(
    log: AuditLog, n: int, overrides: Callable[[int], dict[str, Any]] | None = None
) -> None:
    """Append ``n`` chained events in one transaction; ``overrides(seq)`` replaces fields of event
    ``seq`` (its timestamp, environment, details)."""
    prev, rows = GENESIS_HASH, []
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "event_id": str(uuid.UUID(int=seq)),
            "ts": f"2026-11-24T00:00:00.{seq % 1_000_000:06d}+00:00",
            "actor": "ci",
            "action": "promote",
            "release_id": f"r-{seq:016x}",
            "environment": "prod",
            "digests": {"airflow/dags": f"{seq:064x}"},
            "outcome": "ok",
            "details": {"seq": seq},
            "prev_hash": prev,
            **(overrides(seq) if overrides else {}),
        }
        fields["hash"] = prev = event_hash(fields)
        rows.append(
            {
                **fields,
                "digests": canonical_json(fields["digests"]),
                "details": canonical_json(fields["details"]),
            }
        )
    placeholders = ", ".join(f":{c}" for c in COLUMNS.split(", "))
    with log.engine.begin() as conn:
        conn.execute(text(f"insert into audit_events ({COLUMNS}) values ({placeholders})"), rows)


def bench_audit_verify(n: int = 100_000) -> float:
    """Seconds to verify an ``n``-event chain in SQLite (fails loudly if the chain does not verify)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(f"sqlite:///{tmp}/audit.db")
        fill_chain(log, n)
        start = time.perf_counter()
        result = verify_chain(log)
        seconds = time.perf_counter() - start
        if not result.ok or result.checked != n:
            raise SystemExit(f"benchmark chain did not verify: {result.message}")
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description="audit chain verify benchmark")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    seconds = bench_audit_verify(args.events)
    if args.json:
        print(json.dumps({"audit_verify_100k_s": round(seconds, 4), "events": args.events}))
    else:
        print(
            f"{'events':>10}{'verify s':>10}{'target s':>10}\n{args.events:>10}{seconds:>10.3f}{5.0:>10.1f}"
        )


if __name__ == "__main__":
    main()
