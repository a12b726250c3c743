"""What the per-model warehouse design decides, whatever the SQL dialect.

The DuckDB and Snowflake targets keep the same two layers (fingerprint-named physical relations, and
published views over the current release's relations); these functions decide from names alone what
is built, what a switch changes and what the janitor keeps, so both targets decide it the same way.
Relation names are compared as the plan spells them (lower case); a target whose catalog folds
identifiers (Snowflake upper-cases unquoted ones) lower-cases what it reads before asking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from finsight_release.envs.environment import Environment
from finsight_release.targets.model_plan import ModelPlan, ModelVersion

ViewName = tuple[str, str]  # (published schema, view)


def built_fingerprints(
    plan: ModelPlan, registered: Iterable[str], present: Iterable[str]
) -> set[str]:
    """Fingerprints of ``plan`` registered as built whose relation still exists (one dropped by hand
    counts as not built: the next prepare builds it again)."""
    registered, present = set(registered), set(present)
    return {
        m.fingerprint
        for m in plan.relations
        if m.fingerprint in registered and m.physical_name in present
    }


def missing_relations(plan: ModelPlan, present: Iterable[str]) -> list[str]:
    """Names of ``plan``'s models whose physical relation is absent (the switch is refused then)."""
    present = set(present)
    return [m.name for m in plan.relations if m.physical_name not in present]


def missing_message(release_id: str, where: str, missing: list[str]) -> str:
    """The one-line refusal of a switch while physical relations are missing."""
    return (
        f"release {release_id} cannot be published in {where}: physical relations missing for "
        f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''} (prepare builds them again)"
    )


@dataclass(frozen=True)
class ViewChanges:
    """What publishing a plan changes in the published layer."""

    drop: list[ViewName]  # views the plan no longer has
    replace: list[tuple[ViewName, ModelVersion]]  # views to (re)point at the plan's relation
    schemas: list[str]  # published schemas the plan needs


def view_changes(
    plan: ModelPlan, live: Mapping[ViewName, str], existing: Iterable[ViewName]
) -> ViewChanges:
    """The views to drop and to replace so the published layer reads ``plan``'s relations; ``live``
    is the fingerprint each owned view reads now, ``existing`` the views present in the catalog."""
    wanted = {(m.published_schema, m.published_name): m for m in plan.relations}
    present = set(existing)
    return ViewChanges(
        drop=sorted(set(live) - set(wanted)),
        replace=[
            (name, m)
            for name, m in wanted.items()
            # a view already reading this relation (same model version in both releases) stays
            if not (live.get(name) == m.fingerprint and name in present)
        ],
        schemas=sorted({s for s, _ in wanted}),
    )


def janitor_split(
    plans: Iterable[ModelPlan],
    protected: set[str],
    live_digest: str | None,
    snapshots: set[str],
    present: Iterable[str],
) -> tuple[list[str], list[str]]:
    """(kept, dropped) physical relations: kept are those of a protected plan (or the published one)
    and every snapshot table; the janitor drops the rest, leftovers of failed builds included."""
    keep: set[str] = set()
    for plan in plans:
        if plan.digest in protected or plan.digest == live_digest:
            keep |= {m.physical_name for m in plan.relations}
    present = set(present)
    return sorted(present & (keep | snapshots)), sorted(present - keep - snapshots)


def switching_tables(
    plan: ModelPlan, live: Mapping[ViewName, str]
) -> list[tuple[ModelVersion, str]]:
    """Table models of ``plan`` whose published view reads another version now (``live``: the
    fingerprint each view reads), with that version's fingerprint: what publishing ``plan`` switches."""
    switching = []
    for m in plan.relations:
        live_fp = live.get((m.published_schema, m.published_name))
        if m.is_table and m.resource_type == "model" and live_fp not in {None, m.fingerprint}:
            switching.append((m, str(live_fp)))
    return switching


def older_tables(
    plan: ModelPlan, live: Mapping[ViewName, str], as_of: Mapping[str, datetime]
) -> list[dict[str, str]]:
    """Table models of ``plan`` whose relation holds older data (``as_of`` by fingerprint) than the
    one its view shows now: what a rollback's refresh brings up to date."""
    older = []
    for m, live_fp in switching_tables(plan, live):
        mine, theirs = as_of.get(m.fingerprint), as_of.get(live_fp)
        if mine is not None and theirs is not None and mine < theirs:
            stamp = mine.isoformat(timespec="seconds")
            older.append({"model": m.name, "relation": m.physical_name, "as_of": stamp})
    return older


@dataclass
class JanitorReport:
    """What the janitor kept and dropped in one environment's warehouse."""

    environment: Environment
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
