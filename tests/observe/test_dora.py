"""DORA metrics from audit events: exact numbers on a hand-made week, and as EMF records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from finsight_release.observe.dora import DORA_METRICS, dora_emf_records, dora_metrics, iso_week


def _event(
    seq: int, at: str, action: str, outcome: str, env: str | None, release: str, **details: Any
) -> dict[str, Any]:
    return {
        "seq": seq,
        "ts": datetime.fromisoformat(at).replace(tzinfo=UTC).isoformat(),
        "action": action,
        "outcome": outcome,
        "environment": env,
        "release_id": release,
        "actor": "alice",
        "details": details,
    }


EVENTS = [
    _event(1, "2026-11-23T10:00", "build", "ok", None, "r1"),
    _event(2, "2026-11-23T11:00", "promote", "ok", "dev", "r1"),
    _event(3, "2026-11-23T12:00", "promote", "ok", "prod", "r1"),
    _event(4, "2026-11-23T13:00", "build", "ok", None, "r2"),
    _event(5, "2026-11-23T13:30", "promote", "ok", "dev", "r2"),
    _event(6, "2026-11-23T13:45", "rollback", "ok", "dev", "r1"),  # rolled away from r2
    _event(7, "2026-11-23T14:00", "promote", "started", "prod", "r2"),
    _event(8, "2026-11-23T14:00:01", "promote", "ok", "prod", "r2"),
    _event(9, "2026-11-23T14:30", "health", "unhealthy", "prod", "r2"),
    _event(10, "2026-11-23T14:40", "health", "unhealthy", "prod", "r2"),  # counted once
    _event(11, "2026-11-23T15:00", "rollback", "ok", "prod", "r1"),
    _event(
        12, "2026-11-23T16:00", "build", "ok", None, "r3", committed_at="2026-11-23T15:00:00+00:00"
    ),
    _event(13, "2026-11-23T17:00", "fail", "failed", "prod", "r3"),
    _event(14, "2026-11-23T17:00:30", "rollback", "ok", "prod", "r1", automatic=True),
    _event(15, "2026-12-01T10:00", "promote", "ok", "prod", "r3"),
]


def test_weekly_dora_per_environment() -> None:
    report = dora_metrics(reversed(EVENTS))  # order of the input does not matter: seq decides
    prod = report.week("prod", "2026-W48")
    assert prod is not None
    assert (prod.deployments, prod.changes, prod.failed_changes) == (2, 3, 2)
    assert prod.change_failure_rate == pytest.approx(2 / 3)
    assert prod.lead_time_s == pytest.approx((7200 + 3601) / 2)
    assert prod.restore_times_s == [1800.0, 30.0]
    assert prod.time_to_restore_s == 915.0
    dev = report.week("dev", "2026-W48")
    assert dev is not None and (dev.deployments, dev.failed_changes) == (2, 1)
    assert dev.change_failure_rate == 0.5 and dev.restore_times_s == [900.0]
    assert dev.lead_times_s == [3600.0, 1800.0]
    later = report.week("prod", "2026-W49")
    assert later is not None and later.deployments == 1 and later.change_failure_rate == 0.0
    assert later.lead_times_s == [
        (datetime(2026, 12, 1, 10) - datetime(2026, 11, 23, 15)).total_seconds()
    ]
    assert [d.kind for d in report.deployments if d.environment == "prod"] == [
        "promote",
        "promote",
        "rollback",
        "fail",
        "promote",
    ]
    assert iso_week(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-W01"
    assert dora_metrics([]).weeks == []


def test_dora_as_emf_records() -> None:
    records = dora_emf_records(dora_metrics(EVENTS), 1_700_000_000_000)
    assert [(r["Environment"], r["Week"]) for r in records] == [
        ("dev", "2026-W48"),
        ("prod", "2026-W48"),
        ("prod", "2026-W49"),
    ]
    prod = records[1]
    declared = [m["Name"] for m in prod["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert declared == [name for name, _ in DORA_METRICS.values()]
    assert prod["DeploymentFrequency"] == 2 and prod["TimeToRestore"] == 915.0
    assert prod["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Environment"]]
    no_restore = records[2]  # a metric without a value is neither declared nor written
    assert "TimeToRestore" not in no_restore
    assert "TimeToRestore" not in [
        m["Name"] for m in no_restore["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    ]
