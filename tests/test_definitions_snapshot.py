"""A snapshot of the Dagster definitions: a change to the graph (asset keys and their parents, checks,
jobs, sensors, schedules) is a reviewed diff of ``tests/snapshots/definitions.json``, as in
dagster-open-platform.

After an intended change: ``FINSIGHT_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_definitions_snapshot.py``
rewrites the file; review and commit the diff with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def definitions_outline(defs: dg.Definitions) -> dict[str, Any]:
    """What the code location defines, in a stable, diffable order."""
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    assets = {
        key.to_user_string(): sorted(
            parent.to_user_string() for parent in graph.get(key).parent_keys
        )
        for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
    }
    return {
        "assets": assets,
        "asset_checks": sorted(
            f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys
        ),
        "jobs": sorted(job.name for job in repo.get_all_jobs() if not job.name.startswith("__")),
        "sensors": sorted(sensor.name for sensor in repo.sensor_defs),
        "schedules": sorted(f"{s.name} {s.cron_schedule}" for s in repo.schedule_defs),
    }


def test_definitions_match_the_reviewed_snapshot() -> None:
    from finsight_release.definitions import defs

    outline = definitions_outline(defs)
    text = json.dumps(outline, indent=1, sort_keys=True) + "\n"
    if os.environ.get("FINSIGHT_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(text)
    expected = json.loads(SNAPSHOT.read_text())
    for part in ("jobs", "sensors", "schedules", "asset_checks"):
        assert outline[part] == expected[part], f"{part} changed: review and update {SNAPSHOT.name}"
    added = sorted(set(outline["assets"]) - set(expected["assets"]))
    removed = sorted(set(expected["assets"]) - set(outline["assets"]))
    common = set(outline["assets"]) & set(expected["assets"])
    rewired = sorted(k for k in common if outline["assets"][k] != expected["assets"][k])
    assert not (added or removed or rewired), (
        f"assets added {added[:5]}, removed {removed[:5]}, rewired {rewired[:5]}"
    )
