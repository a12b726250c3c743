"""Rollback serves current data: the restored version's table models are refreshed in the background.

A switch that points a published view at a table older than the one it replaces (a rollback, or a
promotion back to a release built long ago) queues those tables in ``<warehouse>/<env>.refresh.json``.
Once the operation is live, the warehouse target starts this module as a detached process
(``python -m finsight_release.targets.refresher WAREHOUSE PROJECTS ENV QUEUE_ID``), which runs
``DuckDbWarehouseTarget.refresh`` on them and records the outcome in the same file: ``state`` queued,
running, done or failed, with when it started and ended and, per relation, as of when its data is.
``finsight-release status`` shows it. The file lives beside the DuckDB file, not in it, so status can
be read while the refresh holds DuckDB's one-writer lock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from finsight_release.envs.environment import Environment
from finsight_release.targets import virtual_layer
from finsight_release.targets import warehouse_state as state
from finsight_release.targets.dbt_overlay import OVERLAY_FILE, SelectionFailed, build_selection
from finsight_release.targets.model_plan import ModelPlan, physical_vars

if TYPE_CHECKING:
    from finsight_release.targets.dbt_overlay import BuildOutcome
    from finsight_release.targets.warehouse import DuckDbWarehouseTarget

STATES_DONE = {"done", "failed"}


def queue_file(warehouse_dir: Path, env: str) -> Path:
    return Path(warehouse_dir) / f"{env}.refresh.json"


def read_queue(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_queue(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    tmp.replace(path)


def queue(path: Path, release_id: str, relations: list[dict[str, Any]], at: str) -> None:
    """Queue ``relations`` (model, relation, as_of) of ``release_id`` for a refresh."""
    write_queue(
        path,
        {
            "id": uuid.uuid4().hex[:12],
            "release": release_id,
            "state": "queued",
            "queued_at": at,
            "relations": relations,
        },
    )


def start(path: Path, warehouse_dir: Path, projects_dir: Path, env: str) -> bool:
    """Start the refresher for a queued refresh (detached: it outlives this command); False when
    nothing is queued."""
    data = read_queue(path)
    if not data or data.get("state") != "queued":
        return False
    log = path.with_suffix(".log").open("ab")
    subprocess.Popen(
        [
            sys.executable,
            "-m",
            "finsight_release.targets.refresher",
            str(warehouse_dir),
            str(projects_dir),
            env,
            str(data["id"]),
        ],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    return True


def wait(path: Path, timeout_s: float = 600.0) -> dict[str, Any] | None:
    """Block until the queued or running refresh in ``path`` ends (or ``timeout_s``); its record."""
    deadline = time.monotonic() + timeout_s
    while True:
        data = read_queue(path)
        if data is None or data.get("state") in STATES_DONE or time.monotonic() > deadline:
            return data
        time.sleep(0.2)


def older_tables(con: duckdb.DuckDBPyConnection, plan: ModelPlan) -> list[dict[str, str]]:
    """Table models of ``plan`` whose relation holds older data than the one its view shows now."""
    return virtual_layer.older_tables(
        plan, state.published_view_fingerprints(con), state.refreshed_at(con)
    )


def refresh_published(
    target: DuckDbWarehouseTarget, env: Environment, names: Sequence[str] | None = None
) -> list[str]:
    """Recompute the table models (tables and incremental models, not views, seeds or snapshots) of
    the release ``env`` publishes from current sources, in place: ``dbt run`` on their physical
    relations, so a table is rebuilt and an incremental model appends what is new. ``names`` limits
    it to those models. Each relation is marked refreshing while it runs and gets ``refreshed_at``
    when it is done. Returns the names refreshed.
    """
    from finsight_release.targets.warehouse import PUBLISHED_SCHEMA, WarehouseDeployError

    db = target.database(env)
    with target.connect(db) as con:
        digest = state.published(con).get("digest")
        plan = state.load_plan(con, digest) if digest else None
    if plan is None:
        raise WarehouseDeployError(f"nothing is published in {db}: nothing to refresh")
    models = [
        m
        for m in plan.relations
        if m.is_table and m.resource_type == "model" and (names is None or m.name in names)
    ]
    project = target.projects_dir / plan.digest
    if not models:
        return []
    if not (project / "macros" / OVERLAY_FILE).is_file():
        raise WarehouseDeployError(f"dbt project {plan.digest[:12]} is not materialized here")
    with target.connect(db) as con:
        state.mark_refreshing(con, [m.fingerprint for m in models])
    dbt_vars, select = physical_vars(plan), [m.name for m in models]
    outcome: BuildOutcome | None = None
    try:
        outcome = target.wait_for_lock(
            db,
            lambda: build_selection(project, db, PUBLISHED_SCHEMA, dbt_vars, select, command="run"),
        )
    except SelectionFailed as exc:
        outcome = exc.outcome
        raise WarehouseDeployError(f"refreshing {env}'s models failed: {exc}") from exc
    finally:
        done = [
            m.fingerprint
            for m in models
            if outcome and outcome.statuses.get(m.unique_id) == "success"
        ]
        with target.connect(db) as con:
            state.mark_refreshed(con, [m.fingerprint for m in models], done)
    return [m.name for m in models]


def run(warehouse_dir: Path, projects_dir: Path, env: str, queue_id: str) -> int:
    """The refresher process: refresh the queued relations, recording each step in the queue file."""
    from finsight_release.errors import WarehouseDeployError
    from finsight_release.targets.warehouse import DuckDbWarehouseTarget
    from finsight_release.targets.warehouse_state import now

    path = queue_file(warehouse_dir, env)
    data = read_queue(path)
    if not data or data.get("id") != queue_id:
        return 0  # superseded by a later switch
    data.update(state="running", started_at=now().isoformat(timespec="seconds"))
    write_queue(path, data)
    target = DuckDbWarehouseTarget(warehouse_dir, projects_dir)
    names = [r["model"] for r in data["relations"]]
    try:
        target.refresh(Environment.parse(env), names)
        outcome: dict[str, Any] = {"state": "done"}
    except WarehouseDeployError as exc:
        outcome = {"state": "failed", "error": str(exc)}
    stamp = now().isoformat(timespec="seconds")
    latest = read_queue(path)
    if latest and latest.get("id") == queue_id:
        if outcome["state"] == "done":
            for relation in latest["relations"]:
                relation["as_of"] = stamp
        latest.update(outcome, finished_at=stamp)
        write_queue(path, latest)
    return 0 if outcome["state"] == "done" else 1


if __name__ == "__main__":
    raise SystemExit(run(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]))
