"""Per-model versions of a dbt project: fingerprints from the dbt manifest, physical and published names.

A dbt project version (one artifact digest) becomes a :class:`ModelPlan`: for every model, seed and
snapshot, a fingerprint over what decides the relation's contents, and the names it has in the two
layers of the warehouse:

- the *physical* layer holds one relation per fingerprint, ``<physical schema>.<model>__<fp12>``,
  built once and shared by every release whose model has that fingerprint;
- the *published* layer (the schemas consumers query: ``analytics`` and the custom schemas dbt derives
  from it) holds one view per model over the physical relation of the environment's current release.

A model's fingerprint hashes its compiled SQL, the config that shapes the relation (materialization,
contract, hooks, incremental strategy, ... but not tags, meta, docs or its published schema/alias), its
column contract, and the fingerprints of the nodes it reads, sorted: a change anywhere upstream gives
every downstream model a new fingerprint, a change elsewhere leaves it alone.

Policy for stateful nodes:

- **Incremental models** are fingerprinted like any model. A new fingerprint (the model or anything
  upstream changed) builds a new physical relation in full from its sources; an unchanged incremental
  model keeps its physical relation, which keeps accumulating on every refresh, whichever release
  publishes it. A rollback publishes the older relation again; the refresh after it brings it up to date.
- **Snapshots** hold history no rebuild can recreate, so their fingerprint is their *identity* only
  (name, unique key, strategy and its columns), not their SQL: every release with the same identity
  shares one snapshot table, a release never rebuilds it, and a SQL change takes effect at the next
  scheduled ``dbt snapshot``. A changed identity starts a new snapshot table (its history starts then).
- **Seeds** are fingerprinted by their file checksum and config.
- **Ephemeral models** have a fingerprint (their SQL is inlined downstream) but no relation.

Tests get a fingerprint too (compiled SQL plus the fingerprints they test): a release runs the tests
whose fingerprint is new, so a test-only change runs that test against the existing relations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

PHYSICAL_SCHEMA = "finsight_physical"

VERSIONED = ("model", "seed", "snapshot")
# Config keys that never change what a relation holds: who sees it, how it is documented, where it is
# published (schema/alias/database decide the published name, not the physical one).
COSMETIC_CONFIG = frozenset(
    {"tags", "meta", "docs", "group", "access", "schema", "alias", "database", "persist_docs"}
)
SNAPSHOT_IDENTITY = (
    "unique_key",
    "strategy",
    "updated_at",
    "check_cols",
    "hard_deletes",
    "dbt_valid_to_current",
)


class ModelVersion(BaseModel):
    """One model (seed, snapshot) of a project version: what it is and where it lives."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unique_id: str
    name: str
    resource_type: str
    materialized: str
    fingerprint: str
    published_schema: str
    published_name: str
    depends_on: tuple[str, ...] = ()
    meta: dict[str, Any] = {}
    key: tuple[
        str, ...
    ] = ()  # primary key from the model's constraints (data diffs compare key sets)

    @property
    def physical_name(self) -> str:
        return f"{self.name}__{self.fingerprint[:12]}"

    @property
    def has_relation(self) -> bool:
        return self.materialized != "ephemeral"

    @property
    def is_table(self) -> bool:
        """Holds data of its own (a refresh recomputes it); a view reads its upstream live."""
        return self.has_relation and self.materialized != "view"

    def __str__(self) -> str:
        return f"{self.name}@{self.fingerprint[:12]}"


class TestVersion(BaseModel):
    """One dbt test of a project version and its fingerprint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unique_id: str
    name: str
    fingerprint: str
    depends_on: tuple[str, ...] = ()


class SourceTable(BaseModel):
    """A dbt source table and its freshness SLA (hours; None: no SLA at that level)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unique_id: str
    name: str  # <source>.<table>
    schema_name: str
    identifier: str
    loaded_at_field: str | None = None
    warn_after_hours: float | None = None
    error_after_hours: float | None = None


class ModelPlan(BaseModel):
    """Every versioned node of one dbt project version, in the manifest's dependency order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    digest: str
    models: tuple[ModelVersion, ...]
    tests: tuple[TestVersion, ...] = ()
    sources: tuple[SourceTable, ...] = ()

    @property
    def relations(self) -> tuple[ModelVersion, ...]:
        """The models that are relations (everything but ephemeral models)."""
        return tuple(m for m in self.models if m.has_relation)

    def by_id(self) -> dict[str, ModelVersion]:
        return {m.unique_id: m for m in self.models}

    def fingerprints(self) -> set[str]:
        return {m.fingerprint for m in self.relations}

    def downstream_of(self, unique_ids: Iterable[str]) -> set[str]:
        """``unique_ids`` and every model that reads them, directly or not."""
        found = set(unique_ids)
        for model in self.models:  # dependency order: parents come first
            if found & set(model.depends_on):
                found.add(model.unique_id)
        return found


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _columns(node: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: {"data_type": col.get("data_type"), "constraints": col.get("constraints", [])}
        for name, col in sorted((node.get("columns") or {}).items())
    }


def _primary_key(node: Mapping[str, Any]) -> tuple[str, ...]:
    for constraint in node.get("constraints") or []:
        if constraint.get("type") == "primary_key" and constraint.get("columns"):
            return tuple(constraint["columns"])
    return tuple(
        name
        for name, col in (node.get("columns") or {}).items()
        if any(c.get("type") == "primary_key" for c in col.get("constraints") or [])
    )


def _node_fingerprint(node: Mapping[str, Any], upstream: list[str]) -> str:
    config = node.get("config") or {}
    if node["resource_type"] == "snapshot":
        identity = {key: config.get(key) for key in SNAPSHOT_IDENTITY}
        return _hash({"snapshot": node["name"], "identity": identity})
    body = (
        (node.get("checksum") or {}).get("checksum")
        if node["resource_type"] == "seed"
        else node.get("compiled_code", node.get("raw_code"))
    )
    return _hash(
        {
            "type": node["resource_type"],
            "name": node["name"],
            "body": body,
            "config": {k: v for k, v in config.items() if k not in COSMETIC_CONFIG},
            "columns": _columns(node),
            "upstream": sorted(upstream),
        }
    )


def _order(nodes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Unique ids of ``nodes`` parents first (ties by id, so the order is deterministic)."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(uid: str) -> None:
        if uid in seen:
            return
        seen.add(uid)
        for parent in sorted(nodes[uid].get("depends_on", {}).get("nodes", [])):
            if parent in nodes:
                visit(parent)
        done.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    return done


def plan_from_manifest(digest: str, manifest: Mapping[str, Any]) -> ModelPlan:
    """The plan of a compiled dbt ``manifest`` (``target/manifest.json`` of ``dbt compile``).

    The manifest must come from a compile whose target schema is the published schema: each node's
    ``schema`` and ``alias`` there are its published names (custom schemas included, as the project's
    own ``generate_schema_name`` derives them).

    Examples:
        >>> plan = plan_from_manifest("d" * 64, json.loads(Path("target/manifest.json").read_text()))
        >>> [str(m) for m in plan.models][:1]
        ['stg_core_banking__accounts@3f1c...']
    """
    all_nodes = manifest.get("nodes", {})
    versioned = {uid: n for uid, n in all_nodes.items() if n.get("resource_type") in VERSIONED}
    fps: dict[str, str] = {}
    models: list[ModelVersion] = []
    for uid in _order(versioned):
        node = versioned[uid]
        parents = [p for p in node.get("depends_on", {}).get("nodes", []) if p in versioned]
        sources = [p for p in node.get("depends_on", {}).get("nodes", []) if p not in versioned]
        fps[uid] = _node_fingerprint(node, [fps[p] for p in parents] + sources)
        config = node.get("config") or {}
        models.append(
            ModelVersion(
                unique_id=uid,
                name=node["name"],
                resource_type=node["resource_type"],
                materialized=str(config.get("materialized") or node["resource_type"]),
                fingerprint=fps[uid],
                published_schema=node["schema"],
                published_name=node.get("alias") or node["name"],
                depends_on=tuple(sorted(parents)),
                meta=dict(config.get("meta") or node.get("meta") or {}),
                key=_primary_key(node),
            )
        )
    tests = []
    for uid, node in sorted(all_nodes.items()):
        if node.get("resource_type") != "test":
            continue
        parents = sorted(p for p in node.get("depends_on", {}).get("nodes", []) if p in fps)
        fingerprint = _hash(
            {
                "test": node.get("compiled_code", node.get("raw_code")),
                "config": {
                    k: v for k, v in (node.get("config") or {}).items() if k not in COSMETIC_CONFIG
                },
                "upstream": [fps[p] for p in parents],
            }
        )
        tests.append(
            TestVersion(
                unique_id=uid, name=node["name"], fingerprint=fingerprint, depends_on=tuple(parents)
            )
        )
    return ModelPlan(
        digest=digest,
        models=tuple(models),
        tests=tuple(tests),
        sources=tuple(_source(node) for _, node in sorted(manifest.get("sources", {}).items())),
    )


HOURS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}


def _hours(rule: Mapping[str, Any] | None) -> float | None:
    if not rule or rule.get("count") is None:
        return None
    return float(rule["count"]) * HOURS.get(str(rule.get("period")), 1.0)


def _source(node: Mapping[str, Any]) -> SourceTable:
    config = node.get("config") or {}
    freshness = node.get("freshness") or config.get("freshness") or {}
    return SourceTable(
        unique_id=node["unique_id"],
        name=f"{node['source_name']}.{node['name']}",
        schema_name=node["schema"],
        identifier=node.get("identifier") or node["name"],
        loaded_at_field=node.get("loaded_at_field") or config.get("loaded_at_field"),
        warn_after_hours=_hours(freshness.get("warn_after")),
        error_after_hours=_hours(freshness.get("error_after")),
    )


def physical_vars(plan: ModelPlan, physical_schema: str = PHYSICAL_SCHEMA) -> dict[str, Any]:
    """The dbt ``--vars`` that make every versioned node of ``plan`` resolve to its physical relation
    (read by the overlay macros of :mod:`finsight_release.targets.dbt_overlay`)."""
    return {
        "_finsight_physical": {
            m.unique_id: [physical_schema, m.physical_name] for m in plan.models if m.has_relation
        }
    }
