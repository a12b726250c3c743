"""Everything recorded about one release, found by its id: its audit events, the operations and
Dagster runs that moved it, their JSON log lines and metric records, and the Airflow task logs of runs
started while it was live (the task-log lines the release-marker plugin writes name it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The line the Airflow plugin (release_assets/airflow/plugins/finsight_release_marker.py) writes.
TASK_LOG_NEEDLE = "finsight_release_id="
# Only the head of a task log is read: the plugin writes its line when the task starts.
_TASK_LOG_HEAD_BYTES = 64 * 1024


@dataclass
class ReleaseTrail:
    """What the logs of a release are, gathered from every place they are kept."""

    release_id: str
    audit_events: list[dict[str, Any]] = field(default_factory=list)
    operation_ids: list[str] = field(default_factory=list)
    dagster_run_ids: list[str] = field(default_factory=list)
    log_lines: list[dict[str, Any]] = field(default_factory=list)
    metric_records: list[dict[str, Any]] = field(default_factory=list)
    task_logs: list[Path] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "release_id": self.release_id,
            "operation_ids": self.operation_ids,
            "dagster_run_ids": self.dagster_run_ids,
            "audit_events": self.audit_events,
            "log_lines": self.log_lines,
            "metric_records": self.metric_records,
            "task_logs": [str(p) for p in self.task_logs],
        }


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open(errors="replace") as fh:
        for line in fh:
            try:
                value = json.loads(line)
            except ValueError:
                continue  # a torn last line or a non-JSON line: not a record
            if isinstance(value, dict):
                yield value


def _ordered_unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def task_logs_naming(release_id: str, logs_dir: Path) -> list[Path]:
    """Airflow task-log files under ``logs_dir`` whose head names ``release_id`` (sorted)."""
    needle = f"{TASK_LOG_NEEDLE}{release_id}".encode()
    found: list[Path] = []
    if not logs_dir.is_dir():
        return found
    for parent, _dirs, files in os.walk(logs_dir):
        for name in files:
            if not name.endswith(".log"):
                continue
            path = Path(parent) / name
            try:
                with path.open("rb") as fh:
                    head = fh.read(_TASK_LOG_HEAD_BYTES)
            except OSError:
                continue
            if needle in head:
                found.append(path)
    return sorted(found)


def gather_trail(
    release_id: str,
    audit_events: list[dict[str, Any]],
    log_files: Iterable[Path],
    metrics_file: Path | None,
    airflow_logs: Path | None,
) -> ReleaseTrail:
    """The trail of ``release_id`` from its audit events (oldest first) and the files given.

    A log line or metric record belongs to the release when it names the release or one of the
    operations (or Dagster runs) that moved it: a rollback's lines name the operation even where they
    name the release it returned to.
    """
    trail = ReleaseTrail(release_id, audit_events=sorted(audit_events, key=lambda e: e["seq"]))
    trail.operation_ids = _ordered_unique(
        e["details"].get("operation_id") for e in trail.audit_events
    )
    runs = [
        e["details"].get("dagster_run_id") or e["details"].get("run_id") for e in trail.audit_events
    ]
    ops = set(trail.operation_ids)
    for path in log_files:
        for line in _json_lines(path):
            if line.get("release_id") == release_id or line.get("operation_id") in ops:
                trail.log_lines.append(line)
                runs.append(line.get("dagster_run_id"))
    if metrics_file is not None:
        trail.metric_records = [
            r
            for r in _json_lines(metrics_file)
            if r.get("ReleaseId") == release_id or r.get("OperationId") in ops
        ]
        runs += [r.get("DagsterRunId") for r in trail.metric_records]
    trail.dagster_run_ids = _ordered_unique(runs)
    if airflow_logs is not None:
        trail.task_logs = task_logs_naming(release_id, airflow_logs)
    return trail
