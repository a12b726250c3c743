"""Whether DAGs start after a deploy: smoke runs and FinSight's 10-minute start SLA, measured through
Airflow's REST API.

Per DAG (:class:`StartCheck`), one of two ways:

* ``next_run``: the DAG's own next scheduled run must start within the SLA of the deploy. When
  Airflow says that run is not due inside the window (``next_dagrun_create_after``), the check fails
  at once, saying when it is due: a daily DAG can only prove the SLA with a smoke run.
* ``smoke``: a run triggered through the API (``dag_run_id`` ``finsight-smoke-...``) must start within
  the SLA and, with ``must_succeed``, end in ``success`` within ``finish_timeout_s``.

"Started" is the first DAG run of the DAG whose ``start_date`` (set when the scheduler moves it to
running) is at or after the deploy, so a scheduled run that starts first counts too. A paused DAG
never starts: the smoke check unpauses it for the run and pauses it again afterwards.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from finsight_release.errors import AirflowApiError
from finsight_release.one_line import one_line
from finsight_release.targets.airflow_api import AirflowApi, parse_time

START_SLA_S = 600.0
_EXCEPTION_LINE = re.compile(r"\w+(Error|Exception): ")
CRITICAL_TAG = "critical"


@dataclass(frozen=True)
class StartCheck:
    """How one DAG proves it starts after a deploy."""

    dag_id: str
    mode: Literal["next_run", "smoke"] = "smoke"
    must_succeed: bool = True


@dataclass(frozen=True)
class StartResult:
    """One DAG's measured start: seconds from the deploy to its run's start, the run, the verdict."""

    dag_id: str
    mode: str
    ok: bool
    started_s: float | None
    run_id: str | None
    state: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def critical_dags(api: AirflowApi) -> list[str]:
    """The active DAGs tagged ``critical``."""
    return sorted(
        d["dag_id"]
        for d in api.dags()
        if any(t.get("name") == CRITICAL_TAG for t in d.get("tags") or [])
    )


def measure_starts(
    api: AirflowApi,
    checks: Sequence[StartCheck],
    deployed_at: datetime,
    sla_s: float = START_SLA_S,
    finish_timeout_s: float = 300.0,
    poll_s: float = 0.5,
) -> list[StartResult]:
    """Run every check (smoke runs triggered together, then watched), one result per DAG."""
    triggered: dict[str, str] = {}
    was_paused: dict[str, bool] = {}
    results: dict[str, StartResult] = {}
    for check in checks:
        if check.mode == "next_run":
            due = parse_time(api.dag(check.dag_id).get("next_dagrun_create_after"))
            if due is None or due > deployed_at + timedelta(seconds=sla_s):
                results[check.dag_id] = StartResult(
                    check.dag_id, check.mode, False, None, None, "not due",
                    f"next run due at {due}, outside the {sla_s:.0f} s window: use a smoke run",
                )  # fmt: skip
            continue
        was_paused[check.dag_id] = bool(api.dag(check.dag_id)["is_paused"])
        if was_paused[check.dag_id]:
            api.set_paused(check.dag_id, False)
        run_id = f"finsight-smoke-{uuid.uuid4().hex[:10]}"
        api.trigger(check.dag_id, run_id, {"finsight_smoke": True})
        triggered[check.dag_id] = run_id
    try:
        pending = [c for c in checks if c.dag_id not in results]
        start_deadline = time.monotonic() + sla_s
        while pending:
            for check in list(pending):
                result = _observe(api, check, triggered.get(check.dag_id), deployed_at)
                if result is not None:
                    results[check.dag_id] = result
                    pending.remove(check)
            if not pending:
                break
            if time.monotonic() > start_deadline + finish_timeout_s:
                break
            time.sleep(poll_s)
        for check in pending:
            results[check.dag_id] = _overdue(api, check, triggered.get(check.dag_id), deployed_at)
    finally:
        for dag_id, paused in was_paused.items():
            if paused:
                api.set_paused(dag_id, True)
    return [results[c.dag_id] for c in checks]


def _started(api: AirflowApi, dag_id: str, deployed_at: datetime) -> dict[str, Any] | None:
    """The first run of ``dag_id`` that started at or after the deploy."""
    runs = [
        r
        for r in api.dag_runs(dag_id)
        if (start := parse_time(r.get("start_date"))) is not None and start >= deployed_at
    ]
    return min(runs, key=lambda r: str(r["start_date"])) if runs else None


def _observe(
    api: AirflowApi, check: StartCheck, run_id: str | None, deployed_at: datetime
) -> StartResult | None:
    """The check's result once it is decided, else None (still waiting)."""
    first = _started(api, check.dag_id, deployed_at)
    if first is None:
        return None
    started = parse_time(first["start_date"])
    assert started is not None
    started_s = round((started - deployed_at).total_seconds(), 3)
    if check.mode == "next_run" or not check.must_succeed or run_id is None:
        return StartResult(
            check.dag_id,
            check.mode,
            True,
            started_s,
            first["dag_run_id"],
            first["state"],
            "started",
        )
    run = api.dag_run(check.dag_id, run_id)
    if run["state"] == "success":
        return StartResult(
            check.dag_id, check.mode, True, started_s, run_id, "success", "succeeded"
        )
    if run["state"] == "failed":
        return StartResult(
            check.dag_id, check.mode, False, started_s, run_id, "failed", failed_tasks(api, check.dag_id, run_id)
        )  # fmt: skip
    return None


def _overdue(
    api: AirflowApi, check: StartCheck, run_id: str | None, deployed_at: datetime
) -> StartResult:
    first = _started(api, check.dag_id, deployed_at)
    if first is None:
        return StartResult(
            check.dag_id, check.mode, False, None, run_id, "not started", "no run started in the window"
        )  # fmt: skip
    started = parse_time(first["start_date"])
    assert started is not None
    return StartResult(
        check.dag_id, check.mode, False, round((started - deployed_at).total_seconds(), 3), run_id,
        "running", "started but did not finish in time",
    )  # fmt: skip


def failed_tasks(api: AirflowApi, dag_id: str, run_id: str) -> str:
    """The failed tasks of a run, each with the error line from its log when Airflow serves it."""
    parts = []
    for ti in api.task_instances(dag_id, run_id):
        if ti.get("state") not in {"failed", "upstream_failed"}:
            continue
        line = ""
        try:
            log = api.request(
                "GET",
                f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/"
                f"{max(1, int(ti.get('try_number') or 1))}?full_content=true",
            )
            # 2.10 serves the log as the repr of (host, text) pairs: newlines arrive escaped
            content = str(log.get("content") if isinstance(log, dict) else log).replace("\\n", "\n")
            errors = [ln for ln in content.splitlines() if _EXCEPTION_LINE.search(ln)]
            line = one_line(errors[-1], 240) if errors else ""
        except AirflowApiError:
            pass
        parts.append(f"task {ti['task_id']} {ti['state']}" + (f": {line}" if line else ""))
    return "; ".join(parts) or "the run failed"
