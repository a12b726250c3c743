"""Step metrics: duration and outcome of each step, as CloudWatch embedded metric format (EMF) records.

In AWS mode the records go to stdout, where the CloudWatch agent / Lambda / ECS awslogs driver turns
them into metrics. Locally the same records are appended to a JSON-lines file.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from finsight_release.observe.correlation import emf_properties

NAMESPACE = "FinSight/Release"

# Event counts the CloudWatch alarms watch (release_assets/terraform/observability); one record with
# ``Count`` 1 per event, dimension Environment. Renaming one breaks its alarm: a test compares them.
DEPLOY_FAILED = "DeployFailed"
ROLLBACK = "Rollback"
BLOCKING_CHECK_FAILED = "BlockingCheckFailed"
DRIFT_DETECTED = "DriftDetected"
CRITICAL_DAG_SLA_MISSED = "CriticalDagSlaMissed"  # a critical DAG not started within 10 min
ALARM_METRICS = (
    DEPLOY_FAILED,
    ROLLBACK,
    BLOCKING_CHECK_FAILED,
    DRIFT_DETECTED,
    CRITICAL_DAG_SLA_MISSED,
)


def emf_record(
    step: str, seconds: float, outcome: str, dimensions: dict[str, str]
) -> dict[str, Any]:
    """One EMF record for a step's duration and success count."""
    dims = {"Step": step, "Outcome": outcome, **dimensions}
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [
                        sorted(k for k in dims if k in {"Step", "Environment", "Outcome"})
                    ],
                    "Metrics": [
                        {"Name": "Duration", "Unit": "Seconds"},
                        {"Name": "Count", "Unit": "Count"},
                    ],
                }
            ],
        },
        **dims,
        "Duration": round(seconds, 6),
        "Count": 1,
    }


def event_record(metric: str, environment: str | None, **properties: Any) -> dict[str, Any]:
    """One EMF record counting an event (``metric`` 1) per environment, with extra ``properties``."""
    dims = {"Environment": environment or "none"}
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Environment"]],
                    "Metrics": [{"Name": metric, "Unit": "Count"}],
                }
            ],
        },
        **properties,
        **dims,
        metric: 1,
    }


class MetricSink:
    """Writes EMF records to a file (local), to stdout (AWS), or nowhere (neither given: tests, tools)."""

    def __init__(self, path: Path | None = None, to_stdout: bool = False) -> None:
        self.path = path
        self.to_stdout = to_stdout

    def emit(self, record: dict[str, Any]) -> None:
        """Write one record, with the correlation ids of the current operation as properties."""
        line = json.dumps({**emf_properties(), **record}, sort_keys=True)
        if self.path is None:
            if self.to_stdout:
                sys.stdout.write(line + "\n")  # CloudWatch reads EMF records from stdout
                sys.stdout.flush()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(line + "\n")

    @contextmanager
    def step(self, step: str, **dimensions: str | None) -> Iterator[dict[str, str]]:
        """Time a block; emits one record with outcome ``ok`` or ``failed``. Yields a dict the block may
        fill with extra dimensions (e.g. ``{"Outcome": "noop"}``)."""
        extra: dict[str, str] = {}
        dims = {k.title().replace("_", ""): v for k, v in dimensions.items() if v is not None}
        start = time.perf_counter()
        try:
            yield extra
        except BaseException:
            self.emit(emf_record(step, time.perf_counter() - start, "failed", dims))
            raise
        outcome = extra.pop("Outcome", "ok")
        self.emit(emf_record(step, time.perf_counter() - start, outcome, {**dims, **extra}))
