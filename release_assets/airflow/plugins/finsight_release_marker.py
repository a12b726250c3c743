"""Names the FinSight release in every task log: a listener that, when a task instance starts, reads
the release marker the deployer publishes next to the dags folder and logs its ids.

The marker is ``finsight_release.json``: beside the bundle (``current/finsight_release.json`` two
levels above a local ``current/airflow/dags``) or inside the dags folder (MWAA's ``dags/`` prefix).
``finsight-release logs RELEASE`` finds task logs by the ``finsight_release_id=`` line written here.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

MARKER = "finsight_release.json"
_log = logging.getLogger("airflow.task")


def release_marker(dags_folder: str | None = None) -> dict[str, Any] | None:
    """The marker of the release the dags folder belongs to, or None when there is none (or unreadable)."""
    folder = Path(dags_folder or os.environ.get("AIRFLOW__CORE__DAGS_FOLDER") or _configured_dags())
    for candidate in (folder / MARKER, folder.parent / MARKER, folder.parent.parent / MARKER):
        try:
            return dict(json.loads(candidate.read_text()))
        except (OSError, ValueError, TypeError):
            continue
    return None


def _configured_dags() -> str:
    from airflow.configuration import conf

    return conf.get("core", "dags_folder")


def marker_line(marker: dict[str, Any]) -> str:
    """The one line written into a task log."""
    keys = ("release_id", "environment", "operation_id", "dagster_run_id")
    return " ".join(f"finsight_{key}={marker[key]}" for key in keys if marker.get(key))


@hookimpl
def on_task_instance_running(previous_state: Any, task_instance: Any, session: Any) -> None:
    """Log the release this task runs under (first lines of the task's log)."""
    marker = release_marker()
    if marker is not None:
        _log.info("%s", marker_line(marker))


class FinsightReleaseMarkerPlugin(AirflowPlugin):
    """Registers the listener above."""

    name = "finsight_release_marker"
    listeners = [sys.modules[__name__]]
