"""The Snowflake warehouse target's bookkeeping, in schema ``_FINSIGHT`` of each environment's database.

The same records as the DuckDB target's (:mod:`finsight_release.targets.warehouse_state`), in
Snowflake SQL through a DB-API cursor of ``snowflake.connector`` (parameters in its default
``pyformat`` style): ``plans`` (each project version's plan, by digest), ``relations`` (each physical
relation built, by fingerprint, with when it was built), ``tests`` (fingerprints that passed),
``published`` (digest, release, when), ``published_views`` and ``diffs`` (each data diff measured
before go-live, by the fingerprints of the new and the live relation). Snowflake has no ``INSERT OR
REPLACE``: an upsert is a delete and an insert. Names read from the catalog are lower-cased (Snowflake
upper-cases unquoted identifiers; the plan spells them in lower case).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from finsight_release.targets.data_diff import ModelDiff
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA, ModelPlan, ModelVersion
from finsight_release.targets.snowflake_sql import CONTROL_SCHEMA
from finsight_release.targets.virtual_layer import ViewName, built_fingerprints

Cursor = Any  # a snowflake.connector cursor (the connector ships no type stubs for it)

C = CONTROL_SCHEMA
DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {C}",
    f"CREATE SCHEMA IF NOT EXISTS {PHYSICAL_SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {C}.plans (digest VARCHAR, plan VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {C}.relations (fingerprint VARCHAR, unique_id VARCHAR, "
    "name VARCHAR, physical_name VARCHAR, materialized VARCHAR, built_for VARCHAR, "
    "built_at TIMESTAMP_NTZ)",
    f"CREATE TABLE IF NOT EXISTS {C}.tests (fingerprint VARCHAR, passed_at TIMESTAMP_NTZ)",
    f"CREATE TABLE IF NOT EXISTS {C}.published (key VARCHAR, value VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {C}.published_views (schema_name VARCHAR, view_name VARCHAR, "
    "fingerprint VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {C}.diffs (fingerprint VARCHAR, live_fingerprint VARCHAR, "
    "release_id VARCHAR, diff VARCHAR, diffed_at TIMESTAMP_NTZ)",
)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def rows(cur: Cursor, sql: str, params: Iterable[object] | None = None) -> list[tuple[Any, ...]]:
    cur.execute(sql, list(params) if params is not None else None)
    return [tuple(row) for row in cur.fetchall()]


def ensure(cur: Cursor) -> None:
    for statement in DDL:
        cur.execute(statement)


def save_plan(cur: Cursor, plan: ModelPlan) -> None:
    cur.execute(f"DELETE FROM {C}.plans WHERE digest = %s", [plan.digest])
    cur.execute(f"INSERT INTO {C}.plans VALUES (%s, %s)", [plan.digest, plan.model_dump_json()])


def load_plan(cur: Cursor, digest: str) -> ModelPlan | None:
    found = rows(cur, f"SELECT plan FROM {C}.plans WHERE digest = %s", [digest])
    return ModelPlan.model_validate_json(found[0][0]) if found else None


def all_plans(cur: Cursor) -> list[ModelPlan]:
    return [ModelPlan.model_validate_json(p) for (p,) in rows(cur, f"SELECT plan FROM {C}.plans")]


def existing_relations(cur: Cursor, schema: str = PHYSICAL_SCHEMA) -> dict[str, bool]:
    """Tables and views of ``schema`` in the current database, lower-cased: name -> is a view.
    (Snowflake lists views in INFORMATION_SCHEMA.TABLES too; fakesnow only in VIEWS: both are read.)"""
    views, tables = (
        {
            str(name).lower()
            for (name,) in rows(
                cur,
                f"SELECT table_name FROM information_schema.{kind} WHERE UPPER(table_schema) = %s",
                [schema.upper()],
            )
        }
        for kind in ("views", "tables")
    )
    return {name: name in views for name in tables | views}


def registered(cur: Cursor) -> dict[str, str]:
    """Registered relations: fingerprint -> materialization."""
    return {
        str(fp): str(kind)
        for fp, kind in rows(cur, f"SELECT fingerprint, materialized FROM {C}.relations")
    }


def built(cur: Cursor, plan: ModelPlan) -> set[str]:
    """Fingerprints of ``plan`` built here whose relation still exists."""
    return built_fingerprints(plan, registered(cur), existing_relations(cur))


def register(cur: Cursor, m: ModelVersion, release_id: str) -> None:
    cur.execute(f"DELETE FROM {C}.relations WHERE fingerprint = %s", [m.fingerprint])
    cur.execute(
        f"INSERT INTO {C}.relations VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [m.fingerprint, m.unique_id, m.name, m.physical_name, m.materialized, release_id, now()],
    )


def forget_relations(cur: Cursor, physical_names: Iterable[str]) -> None:
    for name in physical_names:
        cur.execute(f"DELETE FROM {C}.relations WHERE LOWER(physical_name) = %s", [name.lower()])


def passed_tests(cur: Cursor) -> set[str]:
    return {str(fp) for (fp,) in rows(cur, f"SELECT fingerprint FROM {C}.tests")}


def pass_test(cur: Cursor, fingerprint: str) -> None:
    cur.execute(f"DELETE FROM {C}.tests WHERE fingerprint = %s", [fingerprint])
    cur.execute(f"INSERT INTO {C}.tests VALUES (%s, %s)", [fingerprint, now()])


def published(cur: Cursor) -> dict[str, str]:
    """What the published layer serves (``digest``, ``release``, ``published_at``, and ``refresh``,
    the JSON of the refresh its switch queued); empty when the database was never deployed to."""
    exists = rows(
        cur,
        "SELECT COUNT(*) FROM information_schema.tables "
        "WHERE UPPER(table_schema) = %s AND UPPER(table_name) = 'PUBLISHED'",
        [C.upper()],
    )
    if not exists or not exists[0][0]:
        return {}
    return {str(k): str(v) for k, v in rows(cur, f"SELECT key, value FROM {C}.published")}


def set_published(cur: Cursor, digest: str | None, release_id: str | None) -> None:
    cur.execute(f"DELETE FROM {C}.published")
    if digest is not None and release_id is not None:
        stamp = now().isoformat(timespec="seconds")
        for key, value in (("digest", digest), ("release", release_id), ("published_at", stamp)):
            cur.execute(f"INSERT INTO {C}.published VALUES (%s, %s)", [key, value])


def published_views(cur: Cursor) -> dict[ViewName, str]:
    """The views the target owns in the published schemas, and the fingerprint each reads."""
    return {
        (str(s), str(v)): str(fp)
        for s, v, fp in rows(
            cur, f"SELECT schema_name, view_name, fingerprint FROM {C}.published_views"
        )
    }


def existing_views(cur: Cursor) -> set[ViewName]:
    """Every view of the current database, lower-cased (schema, view)."""
    return {
        (str(s).lower(), str(v).lower())
        for s, v in rows(cur, "SELECT table_schema, table_name FROM information_schema.views")
    }


def record_views(
    cur: Cursor, drop: Iterable[ViewName], replace: Iterable[tuple[ViewName, str]]
) -> None:
    """Record the published views dropped and (re)pointed (with the fingerprint each now reads)."""
    for schema, view in [*drop, *(name for name, _ in replace)]:
        cur.execute(
            f"DELETE FROM {C}.published_views WHERE schema_name = %s AND view_name = %s",
            [schema, view],
        )
    for (schema, view), fingerprint in replace:
        cur.execute(
            f"INSERT INTO {C}.published_views VALUES (%s, %s, %s)", [schema, view, fingerprint]
        )


def built_at(cur: Cursor) -> dict[str, datetime]:
    """As of when each registered relation's data is (its build or last refresh), by fingerprint."""
    return {
        str(fp): at
        for fp, at in rows(cur, f"SELECT fingerprint, built_at FROM {C}.relations")
        if at is not None
    }


def touch(cur: Cursor, fingerprint: str) -> datetime:
    """Mark a relation's data as of now (it was just refreshed); the time."""
    stamp = now()
    cur.execute(
        f"UPDATE {C}.relations SET built_at = %s WHERE fingerprint = %s", [stamp, fingerprint]
    )
    return stamp


def refresh_record(cur: Cursor) -> dict[str, Any] | None:
    """The last refresh queued by a switch (the shape of the DuckDB target's refresh queue)."""
    found = rows(cur, f"SELECT value FROM {C}.published WHERE key = 'refresh'")
    return json.loads(found[0][0]) if found else None


def set_refresh_record(cur: Cursor, record: dict[str, Any] | None) -> None:
    cur.execute(f"DELETE FROM {C}.published WHERE key = 'refresh'")
    if record is not None:
        cur.execute(f"INSERT INTO {C}.published VALUES ('refresh', %s)", [json.dumps(record)])


def columns(cur: Cursor, name: str, schema: str = PHYSICAL_SCHEMA) -> list[tuple[str, str]]:
    """(column, data type) of relation ``schema.name`` in the current database, in order."""
    return [
        (str(column), str(kind))
        for column, kind in rows(
            cur,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE UPPER(table_schema) = %s AND UPPER(table_name) = %s ORDER BY ordinal_position",
            [schema.upper(), name.upper()],
        )
    ]


def save_diff(cur: Cursor, fingerprint: str, live: str, release_id: str, diff: ModelDiff) -> None:
    cur.execute(
        f"DELETE FROM {C}.diffs WHERE fingerprint = %s AND live_fingerprint = %s",
        [fingerprint, live],
    )
    cur.execute(
        f"INSERT INTO {C}.diffs VALUES (%s, %s, %s, %s, %s)",
        [fingerprint, live, release_id, diff.model_dump_json(), now()],
    )


def load_diff(cur: Cursor, fingerprint: str, live: str) -> ModelDiff | None:
    found = rows(
        cur,
        f"SELECT diff FROM {C}.diffs WHERE fingerprint = %s AND live_fingerprint = %s",
        [fingerprint, live],
    )
    return ModelDiff.model_validate_json(found[0][0]) if found else None


def diffs_for(cur: Cursor, release_id: str) -> list[ModelDiff]:
    """The diffs measured when ``release_id`` was prepared here, oldest first."""
    found = rows(
        cur,
        f"SELECT diff FROM {C}.diffs WHERE release_id = %s ORDER BY diffed_at",
        [release_id],
    )
    return [ModelDiff.model_validate_json(diff) for (diff,) in found]


class SnowflakeDiffStore:
    """The data diff gate's view of one Snowflake database (:class:`~finsight_release.targets.
    diff_gate.DiffStore`), on an open cursor: the diff's queries rendered in Snowflake SQL."""

    dialect = "snowflake"

    def __init__(self, cur: Cursor) -> None:
        self.cur = cur

    def columns(self, schema: str, relation: str) -> list[tuple[str, str]]:
        return columns(self.cur, relation, schema)

    def first_row(self, sql: str) -> tuple[Any, ...]:
        self.cur.execute(sql)
        row = self.cur.fetchone()
        return tuple(row) if row is not None else ()

    def relations(self) -> dict[str, str]:
        present = existing_relations(self.cur)
        return {
            str(fp): str(name)
            for fp, name in rows(self.cur, f"SELECT fingerprint, physical_name FROM {C}.relations")
            if str(name).lower() in present
        }

    def live_views(self) -> dict[ViewName, str]:
        return published_views(self.cur)

    def save_diff(self, fingerprint: str, live: str, release_id: str, diff: ModelDiff) -> None:
        save_diff(self.cur, fingerprint, live, release_id, diff)

    def load_diff(self, fingerprint: str, live: str) -> ModelDiff | None:
        return load_diff(self.cur, fingerprint, live)
