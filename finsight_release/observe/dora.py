"""DORA metrics from the audit log, per environment and ISO week.

- Deployment frequency: releases that went live (``promote``/``ok``).
- Lead time for changes: from the release's build (CI builds each merged commit, so the build event is
  the commit's arrival; a ``committed_at`` in the build event's details wins when present) to its
  go-live in the environment; median per week.
- Change failure rate: failed changes / changes, where a change is a go-live or a failed promotion
  (``fail``), and a failed change is a failed promotion, a go-live later rolled back away from, or a
  release marked unhealthy while live.
- Time to restore: from the failure (the ``fail`` event, the unhealthy mark, or for a plain rollback
  the go-live it undid) to the rollback or next go-live that restored service; median per week.

One pass over the events in seq order; nothing but the audit log is read.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from finsight_release.observe.metrics import NAMESPACE

# EMF metric names of the DORA records (dimension Environment; the week is a property).
DORA_METRICS = {
    "deployments": ("DeploymentFrequency", "Count"),
    "lead_time_s": ("LeadTimeForChanges", "Seconds"),
    "change_failure_rate": ("ChangeFailureRate", "None"),
    "time_to_restore_s": ("TimeToRestore", "Seconds"),
}


@dataclass
class DoraWeek:
    """One environment's DORA metrics for one ISO week (``2026-W48``)."""

    environment: str
    week: str
    deployments: int = 0
    changes: int = 0
    failed_changes: int = 0
    lead_times_s: list[float] = field(default_factory=list)
    restore_times_s: list[float] = field(default_factory=list)

    @property
    def lead_time_s(self) -> float | None:
        """Median lead time, commit (build) to go-live."""
        return statistics.median(self.lead_times_s) if self.lead_times_s else None

    @property
    def time_to_restore_s(self) -> float | None:
        """Median time from a failure to the restore."""
        return statistics.median(self.restore_times_s) if self.restore_times_s else None

    @property
    def change_failure_rate(self) -> float | None:
        """Failed changes over changes (None: no change that week)."""
        return self.failed_changes / self.changes if self.changes else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "environment": self.environment,
            "week": self.week,
            "deployments": self.deployments,
            "changes": self.changes,
            "failed_changes": self.failed_changes,
            "lead_time_s": self.lead_time_s,
            "change_failure_rate": self.change_failure_rate,
            "time_to_restore_s": self.time_to_restore_s,
        }


@dataclass
class Deployment:
    """A go-live (or a failed attempt) in an environment, for the release timeline."""

    environment: str
    release_id: str
    at: datetime
    kind: str  # promote | rollback | fail
    actor: str


@dataclass
class DoraReport:
    """The weeks, oldest first, and the deployments they were computed from."""

    weeks: list[DoraWeek]
    deployments: list[Deployment]

    def week(self, environment: str, week: str) -> DoraWeek | None:
        """The row of ``environment`` in ``week``, if any change happened then."""
        return next((w for w in self.weeks if (w.environment, w.week) == (environment, week)), None)


def iso_week(moment: datetime) -> str:
    """``2026-W48``: the ISO year and week of ``moment``."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _ts(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["ts"])


def dora_metrics(events: Iterable[dict[str, Any]]) -> DoraReport:
    """DORA metrics of every environment from audit ``events`` (any order; sorted by seq here)."""
    built: dict[str, datetime] = {}
    weeks: dict[tuple[str, str], DoraWeek] = {}
    # Per environment: the live go-live (release, at, week row) and an open failure (since, row).
    live: dict[str, tuple[str, datetime, DoraWeek]] = {}
    failed_live: dict[str, set[str]] = defaultdict(set)
    open_failure: dict[str, tuple[datetime, DoraWeek]] = {}
    deployments: list[Deployment] = []

    def row(env: str, at: datetime) -> DoraWeek:
        key = (env, iso_week(at))
        if key not in weeks:
            weeks[key] = DoraWeek(env, key[1])
        return weeks[key]

    def restored(env: str, at: datetime) -> None:
        failure = open_failure.pop(env, None)
        if failure is not None:
            failure[1].restore_times_s.append((at - failure[0]).total_seconds())

    def fail_live(env: str, at: datetime, since: datetime) -> None:
        """The release live in ``env`` failed: its go-live counts as failed (once)."""
        current = live.get(env)
        if current is None or current[0] in failed_live[env]:
            return
        failed_live[env].add(current[0])
        current[2].failed_changes += 1
        open_failure.setdefault(env, (since, current[2]))

    for event in sorted(events, key=lambda e: e["seq"]):
        action, outcome, env = event["action"], event["outcome"], event["environment"]
        release = event["release_id"]
        if action == "build" and release and release not in built:
            committed = event["details"].get("committed_at")
            built[release] = datetime.fromisoformat(committed) if committed else _ts(event)
            continue
        if env is None or release is None:
            continue
        at = _ts(event)
        if action == "promote" and outcome == "ok":
            week = row(env, at)
            week.deployments += 1
            week.changes += 1
            if release in built:
                week.lead_times_s.append((at - built[release]).total_seconds())
            restored(env, at)
            live[env] = (release, at, week)
            failed_live[env].discard(release)
            deployments.append(Deployment(env, release, at, "promote", event["actor"]))
        elif action == "fail" and outcome == "failed":
            week = row(env, at)
            week.changes += 1
            week.failed_changes += 1
            open_failure.setdefault(env, (at, week))
            deployments.append(Deployment(env, release, at, "fail", event["actor"]))
        elif action == "health" and outcome == "unhealthy" and live.get(env, ("",))[0] == release:
            fail_live(env, at, at)
        elif action == "rollback" and outcome == "ok":
            if not event["details"].get("automatic"):
                current = live.get(env)
                if current is not None and current[0] != release:
                    fail_live(env, at, current[1])
                live[env] = (release, at, row(env, at))
                deployments.append(Deployment(env, release, at, "rollback", event["actor"]))
            restored(env, at)
    ordered = sorted(weeks.values(), key=lambda w: (w.week, w.environment))
    return DoraReport(ordered, deployments)


def dora_emf_records(report: DoraReport, timestamp_ms: int) -> list[dict[str, Any]]:
    """The weeks as CloudWatch EMF records: one per environment and week, the four DORA metrics."""
    records = []
    for week in report.weeks:
        values = {name: getattr(week, attr) for attr, (name, _unit) in DORA_METRICS.items()}
        present = {k: v for k, v in values.items() if v is not None}
        records.append(
            {
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": NAMESPACE,
                            "Dimensions": [["Environment"]],
                            "Metrics": [
                                {"Name": name, "Unit": unit}
                                for name, unit in DORA_METRICS.values()
                                if name in present
                            ],
                        }
                    ],
                },
                "Environment": week.environment,
                "Week": week.week,
                **present,
            }
        )
    return records


def dora_metadata(report: DoraReport, environment: str) -> dict[str, float | str]:
    """``environment``'s latest week as metadata values (``dora/...``; only the known ones), for a
    deployment's materialization, so the UI plots each metric over time."""
    weeks = [w for w in report.weeks if w.environment == environment]
    if not weeks:
        return {}
    latest = weeks[-1]
    values: dict[str, float | str] = {"dora/week": latest.week}
    for attr, (name, _unit) in DORA_METRICS.items():
        value = getattr(latest, attr)
        if value is not None:
            values[f"dora/{name}"] = float(value)
    return values
