"""The published layer on DuckDB: one view per model in the schemas consumers query, switched atomically.

A release is published by pointing every view at the physical relation of its model's fingerprint, in
one transaction: views the new release no longer has are dropped, the others replaced, the schemas
they live in (``analytics`` and any custom schema) created when missing, and ``_finsight.published``
records the digest and release they serve. Nothing is published while a physical relation is missing,
so a failed or partial build never reaches consumers.
"""

from __future__ import annotations

import duckdb

from finsight_release.envs.faults import fault_point
from finsight_release.errors import PublishError
from finsight_release.targets import warehouse_state as state
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA, ModelPlan
from finsight_release.targets.virtual_layer import missing_message, missing_relations, view_changes
from finsight_release.targets.warehouse_state import CONTROL_SCHEMA


def publish(con: duckdb.DuckDBPyConnection, plan: ModelPlan, release_id: str, where: str) -> None:
    """Make the published views read ``plan``'s physical relations, atomically. Refused, with the
    published layer untouched, while any of them is missing."""
    state.ensure(con)
    missing = missing_relations(plan, state.existing_relations(con, PHYSICAL_SCHEMA))
    if missing:
        raise PublishError(missing_message(release_id, where, missing))
    views = {
        (str(s), str(v))
        for s, v in con.execute(
            "select schema_name, view_name from duckdb_views() where not internal"
        ).fetchall()
    }
    changes = view_changes(plan, state.published_view_fingerprints(con), views)
    con.execute("begin transaction")
    try:
        for schema, view in changes.drop:
            con.execute(f'drop view if exists "{schema}"."{view}"')
            con.execute(
                f"delete from {CONTROL_SCHEMA}.published_views "
                "where schema_name = ? and view_name = ?",
                [schema, view],
            )
        for schema in changes.schemas:
            con.execute(f'create schema if not exists "{schema}"')
        for (schema, view), m in changes.replace:
            con.execute(
                f'create or replace view "{schema}"."{view}" as '
                f'select * from {PHYSICAL_SCHEMA}."{m.physical_name}"'
            )
            con.execute(
                f"insert or replace into {CONTROL_SCHEMA}.published_views values (?, ?, ?)",
                [schema, view, m.fingerprint],
            )
        for key, value in (
            ("digest", plan.digest),
            ("release", release_id),
            ("published_at", state.now().isoformat(timespec="seconds")),
        ):
            con.execute(
                f"insert or replace into {CONTROL_SCHEMA}.published values (?, ?)", [key, value]
            )
        fault_point("warehouse.publish")
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        raise PublishError(f"publishing {release_id} in {where} failed: {exc}") from exc


def unpublish(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the published views and forget the published version (the release has no dbt project)."""
    state.ensure(con)
    con.execute("begin transaction")
    for schema, view in state.published_views(con):
        con.execute(f'drop view if exists "{schema}"."{view}"')
    con.execute(f"delete from {CONTROL_SCHEMA}.published_views")
    con.execute(f"delete from {CONTROL_SCHEMA}.published")
    con.execute("commit")


def drop_relation(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> None:
    """Drop the table or view ``schema.name`` if it exists."""
    row = con.execute(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    if row:
        kind = "view" if row[0] == "VIEW" else "table"
        con.execute(f'drop {kind} if exists "{schema}"."{name}"')
