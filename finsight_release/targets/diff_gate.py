"""Which data diffs a release's switching tables have, and which of them block it, on any warehouse.

The gate reads and writes one environment's warehouse through a :class:`DiffStore`: the DuckDB
target's (:class:`~finsight_release.targets.warehouse_state.DuckDbDiffStore`) or the Snowflake
target's (:class:`~finsight_release.targets.snowflake_state.SnowflakeDiffStore`), so both decide
the same way what is diffed, what is stored and what blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from finsight_release.targets.data_diff import DiffSource, ModelDiff, diff_model
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA, ModelPlan
from finsight_release.targets.virtual_layer import ViewName, switching_tables


class DiffStore(DiffSource, Protocol):
    """A warehouse's bookkeeping as the gate needs it, besides the queries a diff runs."""

    def relations(self) -> dict[str, str]:
        """Registered physical relations that exist: fingerprint -> relation name."""
        ...

    def live_views(self) -> Mapping[ViewName, str]:
        """The fingerprint each published view reads now."""
        ...

    def save_diff(self, fingerprint: str, live: str, release_id: str, diff: ModelDiff) -> None:
        """Store ``diff`` of relation ``fingerprint`` against ``live``, measured for ``release_id``."""
        ...

    def load_diff(self, fingerprint: str, live: str) -> ModelDiff | None:
        """The stored diff of relation ``fingerprint`` against ``live``, if any."""
        ...


def gate_diffs(
    store: DiffStore, plan: ModelPlan, built: set[str], release_id: str
) -> tuple[list[ModelDiff], list[str]]:
    """Diff each switching table of ``plan`` that was just ``built`` against the live relation and
    store it (by fingerprint); returns those diffs and, for every switching table whose stored diff
    is over its thresholds, ``<model>: <violations>``."""
    made, blocked = [], []
    relations = store.relations()
    for model, live_fp in switching_tables(plan, store.live_views()):
        if model.fingerprint in built and live_fp in relations:
            diff = diff_model(store, PHYSICAL_SCHEMA, model, relations[live_fp])
            store.save_diff(model.fingerprint, live_fp, release_id, diff)
            made.append(diff)
        stored = store.load_diff(model.fingerprint, live_fp)
        if stored is not None and stored.blocking:
            blocked.append(f"{model.name}: {'; '.join(stored.violations)}")
    return made, blocked


def blocked_message(release_id: str, where: str, blocked: list[str]) -> str:
    """The one-line refusal of a release whose data diffs are over their thresholds."""
    return (
        f"data diff blocks release {release_id} in {where} (published layer unchanged): "
        + " | ".join(blocked)
    )
