"""Which data diffs a release's switching tables have, and which of them block it."""

from __future__ import annotations

import duckdb

from finsight_release.targets import warehouse_state as state
from finsight_release.targets.data_diff import ModelDiff, diff_model
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA, ModelPlan


def gate_diffs(
    con: duckdb.DuckDBPyConnection, plan: ModelPlan, built: set[str], release_id: str
) -> tuple[list[ModelDiff], list[str]]:
    """Diff each switching table of ``plan`` that was just ``built`` against the live relation and
    store it (by fingerprint); returns those diffs and, for every switching table whose stored diff
    is over its thresholds, ``<model>: <violations>``."""
    made, blocked = [], []
    relations = {row[0]: row[3] for row in state.relation_rows(con)}
    for model, live_fp in state.switching_tables(con, plan):
        if model.fingerprint in built and live_fp in relations:
            diff = diff_model(con, PHYSICAL_SCHEMA, model, relations[live_fp])
            state.save_diff(con, model.fingerprint, live_fp, release_id, diff)
            made.append(diff)
        stored = state.load_diff(con, model.fingerprint, live_fp)
        if stored is not None and stored.blocking:
            blocked.append(f"{model.name}: {'; '.join(stored.violations)}")
    return made, blocked
