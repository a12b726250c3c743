"""The Snowflake SQL of a dbt project version: each model's SELECT over physical relations, and the
statements that build, clone, publish, swap and drop them.

A project version is compiled once by dbt (:func:`~finsight_release.targets.dbt_overlay.compile_manifest`,
the same compile that gives every model its fingerprint). Its compiled SQL is transpiled to Snowflake
with sqlglot, and each table it reads is re-pointed on the syntax tree: a ref to another model becomes
that model's fingerprint-named relation ``FINSIGHT_PHYSICAL.<model>__<fp12>`` (reuse by reference, no
copy), a source becomes the table the project's sources name for a Snowflake target
(:func:`~finsight_release.validate.dbt.sources.source_tables`). Identifiers the target writes are
unquoted (Snowflake folds them to upper case); anything that is not a simple identifier is quoted.

Every statement is a function of names only, so what fakesnow cannot run (``ALTER SCHEMA ... SWAP
WITH``, grants) is tested as the text these functions return.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlglot
from pydantic import BaseModel, ConfigDict
from sqlglot import exp

from finsight_release.errors import WarehouseDeployError
from finsight_release.one_line import one_line
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA, ModelPlan, ModelVersion
from finsight_release.targets.virtual_layer import ViewName
from finsight_release.validate.dbt.sources import SourceTable
from finsight_release.validate.warehouse.snowflake_preflight import ident

CONTROL_SCHEMA = "_finsight"
NEXT_SUFFIX = "__finsight_next"  # the shadow schema a swap-mode switch fills, then swaps in
SOURCE_DIALECT = "duckdb"  # the dialect dbt compiled the project in (its DuckDB target)


class ProjectSql(BaseModel):
    """One dbt project version in Snowflake SQL: a SELECT per model with a relation, and each data
    test's query (rows returned are failures) with its severity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    models: dict[str, str]  # unique_id -> SELECT over physical relations and sources
    tests: dict[str, tuple[str, str]]  # unique_id -> (failing-rows query, "error" | "warn")
    # unique_id -> (declared columns, those with a not_null constraint) of enforced contracts
    contracts: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def qualified(*parts: str) -> str:
    """A dotted Snowflake name, each part an identifier (bare when simple)."""
    return ".".join(ident(part) for part in parts if part)


def physical(m: ModelVersion) -> str:
    return qualified(PHYSICAL_SCHEMA, m.physical_name)


def _table(parts: Sequence[str]) -> exp.Table:
    catalog, db, name = ("", *parts) if len(parts) == 2 else tuple(parts)
    return exp.Table(
        this=exp.to_identifier(name),
        db=exp.to_identifier(db) if db else None,
        catalog=exp.to_identifier(catalog) if catalog else None,
    )


def translate(sql: str, relations: Mapping[tuple[str, str], Sequence[str]], what: str) -> str:
    """``sql`` (compiled for DuckDB) in Snowflake SQL, each table ``(schema, name)`` found in
    ``relations`` (lower case) replaced by the relation named there; raises WarehouseDeployError
    naming ``what`` when sqlglot cannot read it."""
    try:
        tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    except sqlglot.errors.ParseError as exc:
        raise WarehouseDeployError(
            f"{what}: compiled SQL not translatable to Snowflake: {one_line(exc, 200)}"
        ) from exc
    for table in list(tree.find_all(exp.Table)):
        target = relations.get((table.db.lower(), table.name.lower()))
        if target is not None:
            replacement = _table(target)
            if table.alias:
                replacement.set("alias", table.args.get("alias"))
            table.replace(replacement)
    return tree.sql(dialect="snowflake")


def project_sql(
    manifest: Mapping[str, Any], plan: ModelPlan, sources: Iterable[SourceTable]
) -> ProjectSql:
    """Every model and data test of ``plan`` in Snowflake SQL, reading physical relations and the
    Snowflake source tables ``sources`` (as :func:`source_tables` resolves them for Snowflake)."""
    relations: dict[tuple[str, str], Sequence[str]] = {
        (m.published_schema.lower(), m.published_name.lower()): (PHYSICAL_SCHEMA, m.physical_name)
        for m in plan.relations
    }
    by_name = {s.dbt_name: s for s in sources}
    for node in manifest.get("sources", {}).values():
        table = by_name.get(f"{node['source_name']}.{node['name']}")
        if table is not None:
            key = (str(node["schema"]).lower(), str(node.get("identifier") or node["name"]).lower())
            relations[key] = (table.database, table.schema, table.identifier)
    nodes = manifest.get("nodes", {})
    models = {
        m.unique_id: translate(_compiled(nodes, m.unique_id), relations, f"model {m.name}")
        for m in plan.relations
    }
    tests = {}
    for t in plan.tests:
        severity = str((nodes[t.unique_id].get("config") or {}).get("severity") or "error").lower()
        tests[t.unique_id] = (
            translate(_compiled(nodes, t.unique_id), relations, f"test {t.name}"),
            severity,
        )
    contracts = {
        m.unique_id: contract
        for m in plan.relations
        if (contract := _contract(nodes[m.unique_id])) is not None
    }
    return ProjectSql(models=models, tests=tests, contracts=contracts)


def _contract(node: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The declared columns of a model whose contract is enforced, and those declared not null."""
    if not ((node.get("config") or {}).get("contract") or {}).get("enforced"):
        return None
    columns = node.get("columns") or {}
    not_null = tuple(
        name
        for name, column in columns.items()
        if any(c.get("type") == "not_null" for c in column.get("constraints") or [])
    )
    return tuple(columns), not_null


def contract_problem(
    declared: Sequence[str], not_null: Sequence[str], built: Sequence[str], null_rows: int
) -> str | None:
    """What breaks a model's enforced contract: columns missing or unexpected (compared as Snowflake
    folds unquoted names) and rows with a NULL in a not-null column; None when it holds."""
    want, have = {c.upper() for c in declared}, {c.upper() for c in built}
    problems = []
    if want - have:
        problems.append(f"missing columns {', '.join(sorted(want - have))}")
    if have - want:
        problems.append(f"unexpected columns {', '.join(sorted(have - want))}")
    if null_rows:
        problems.append(f"{null_rows} row(s) with NULL in {', '.join(not_null)}")
    return f"contract: {'; '.join(problems)}" if problems else None


def null_rows_query(m: ModelVersion, not_null: Sequence[str]) -> str:
    condition = " OR ".join(f"{ident(c)} IS NULL" for c in not_null)
    return f"SELECT COUNT(*) FROM {physical(m)} WHERE {condition}"


def _compiled(nodes: Mapping[str, Any], unique_id: str) -> str:
    node = nodes[unique_id]
    sql = node.get("compiled_code")
    if not sql:
        raise WarehouseDeployError(f"{node['name']}: the dbt compile produced no SQL for it")
    return str(sql)


# --- statements -------------------------------------------------------------------------------


def create_physical(m: ModelVersion, select: str) -> str:
    """Build ``m``'s physical relation: a transient table (no Fail-safe: it can be rebuilt from its
    sources) for table and incremental models, a view for view models. ``OR REPLACE`` makes a retry
    overwrite what a failed or interrupted attempt left."""
    kind = "VIEW" if m.materialized == "view" else "TRANSIENT TABLE"
    return f"CREATE OR REPLACE {kind} {physical(m)} AS {select}"


def clone_physical(m: ModelVersion, from_database: str) -> str:
    """Zero-copy CLONE of ``m``'s physical table from another database holding the same fingerprint."""
    source = qualified(from_database, PHYSICAL_SCHEMA, m.physical_name)
    return f"CREATE OR REPLACE TRANSIENT TABLE {physical(m)} CLONE {source}"


def drop_physical(name: str, is_view: bool) -> str:
    kind = "VIEW" if is_view else "TABLE"
    return f"DROP {kind} IF EXISTS {qualified(PHYSICAL_SCHEMA, name)}"


def test_query(sql: str) -> str:
    """The number of rows a data test returns (each one a failure)."""
    return f"SELECT COUNT(*) FROM ({sql}) AS dbt_test"


def published_view(schema: str, view: str, m: ModelVersion) -> str:
    return f"CREATE OR REPLACE VIEW {qualified(schema, view)} AS SELECT * FROM {physical(m)}"


def view_switch(
    drop: Sequence[ViewName],
    replace: Sequence[tuple[ViewName, ModelVersion]],
    schemas: Sequence[str],
) -> list[str]:
    """The published layer's switch by views: one transaction dropping and replacing views.

    On Snowflake each DDL statement commits on its own, so there each view switches atomically but
    the release does not; :func:`swap_switch` is the release-atomic form per schema.
    """
    return [
        "BEGIN TRANSACTION",
        *(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}" for schema in schemas),
        *(f"DROP VIEW IF EXISTS {qualified(schema, view)}" for schema, view in drop),
        *(published_view(schema, view, m) for (schema, view), m in replace),
    ]


def swap_switch(plan: ModelPlan, reader_roles: Sequence[str] = ()) -> list[str]:
    """The published layer's switch by ``ALTER SCHEMA ... SWAP WITH``: each published schema is
    built complete as a shadow schema (every view, and the readers' grants, which a swap carries with
    the schema), then swapped in, one atomic metadata operation per schema, and the old one dropped.
    A published schema is owned by the target: a swap replaces all it holds."""
    schemas: dict[str, list[ModelVersion]] = {}
    for m in plan.relations:
        schemas.setdefault(m.published_schema, []).append(m)
    build: list[str] = []
    swaps: list[str] = []
    for schema, models in sorted(schemas.items()):
        shadow = f"{schema}{NEXT_SUFFIX}"
        build.append(f"CREATE OR REPLACE TRANSIENT SCHEMA {ident(shadow)}")
        build += [published_view(shadow, m.published_name, m) for m in models]
        for role in reader_roles:
            build += [
                f"GRANT USAGE ON SCHEMA {ident(shadow)} TO ROLE {ident(role)}",
                f"GRANT SELECT ON ALL VIEWS IN SCHEMA {ident(shadow)} TO ROLE {ident(role)}",
            ]
        swaps += [
            f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}",
            f"ALTER SCHEMA {ident(schema)} SWAP WITH {ident(shadow)}",
            f"DROP SCHEMA IF EXISTS {ident(shadow)}",
        ]
    return build + swaps


def reader_grants(schemas: Iterable[str], reader_roles: Sequence[str]) -> list[str]:
    """What the readers need on published schemas a view switch creates."""
    return [
        statement
        for schema in sorted(set(schemas))
        for role in reader_roles
        for statement in (
            f"GRANT USAGE ON SCHEMA {ident(schema)} TO ROLE {ident(role)}",
            f"GRANT SELECT ON ALL VIEWS IN SCHEMA {ident(schema)} TO ROLE {ident(role)}",
        )
    ]
