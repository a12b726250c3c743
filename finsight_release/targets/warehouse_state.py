"""The warehouse target's own bookkeeping, in schema ``_finsight`` of each environment's DuckDB file.

- ``plans``: each dbt project version's :class:`ModelPlan` (JSON), by digest;
- ``relations``: each physical relation built, by fingerprint: which model, for which release, when it
  was built and as of when its data is (``refreshed_at``), and whether a refresh is running;
- ``tests``: fingerprints of dbt tests that passed here;
- ``published``: what the published layer serves (``digest``, ``release``, ``published_at``);
- ``published_views``: every view the target owns in the published schemas.

All functions take an open connection and work inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import duckdb

from finsight_release.targets.data_diff import ModelDiff
from finsight_release.targets.model_plan import ModelPlan, ModelVersion
from finsight_release.targets.virtual_layer import built_fingerprints

CONTROL_SCHEMA = "_finsight"

DDL = (
    f"create schema if not exists {CONTROL_SCHEMA}",
    f"create table if not exists {CONTROL_SCHEMA}.plans (digest varchar primary key, plan varchar)",
    f"create table if not exists {CONTROL_SCHEMA}.relations (fingerprint varchar primary key, "
    "unique_id varchar, name varchar, physical_schema varchar, physical_name varchar, "
    "materialized varchar, built_for varchar, built_at timestamp, refreshed_at timestamp, "
    "refreshing_since timestamp)",
    f"create table if not exists {CONTROL_SCHEMA}.tests (fingerprint varchar primary key, "
    "passed_at timestamp)",
    f"create table if not exists {CONTROL_SCHEMA}.published (key varchar primary key, value varchar)",
    f"create table if not exists {CONTROL_SCHEMA}.published_views (schema_name varchar, "
    "view_name varchar, fingerprint varchar, primary key (schema_name, view_name))",
    f"create table if not exists {CONTROL_SCHEMA}.diffs (fingerprint varchar, live_fingerprint varchar, "
    "release_id varchar, diff varchar, diffed_at timestamp, primary key (fingerprint, live_fingerprint))",
)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def save_plan(con: duckdb.DuckDBPyConnection, plan: ModelPlan) -> None:
    con.execute(
        f"insert or replace into {CONTROL_SCHEMA}.plans values (?, ?)",
        [plan.digest, plan.model_dump_json()],
    )


def load_plan(con: duckdb.DuckDBPyConnection, digest: str) -> ModelPlan | None:
    row = con.execute(
        f"select plan from {CONTROL_SCHEMA}.plans where digest = ?", [digest]
    ).fetchone()
    return ModelPlan.model_validate_json(row[0]) if row else None


def all_plans(con: duckdb.DuckDBPyConnection) -> list[ModelPlan]:
    return [
        ModelPlan.model_validate_json(plan)
        for (plan,) in con.execute(f"select plan from {CONTROL_SCHEMA}.plans").fetchall()
    ]


def existing_relations(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    """Names of the tables and views in ``schema`` (exact match: no LIKE, no wildcard surprises)."""
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }


def built(con: duckdb.DuckDBPyConnection, plan: ModelPlan, schema: str) -> set[str]:
    """Fingerprints of ``plan`` registered as built here whose relation still exists (one dropped by
    hand counts as not built: the next prepare builds it again)."""
    registered = {
        str(fp)
        for (fp,) in con.execute(f"select fingerprint from {CONTROL_SCHEMA}.relations").fetchall()
    }
    return built_fingerprints(plan, registered, existing_relations(con, schema))


def passed_tests(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        fp for (fp,) in con.execute(f"select fingerprint from {CONTROL_SCHEMA}.tests").fetchall()
    }


def register(
    con: duckdb.DuckDBPyConnection,
    models: Iterable[ModelVersion],
    tests: Iterable[str],
    release_id: str,
    schema: str,
) -> None:
    stamp = now()
    for m in models:
        con.execute(
            f"insert or replace into {CONTROL_SCHEMA}.relations values (?, ?, ?, ?, ?, ?, ?, ?, ?, null)",
            [
                m.fingerprint,
                m.unique_id,
                m.name,
                schema,
                m.physical_name,
                m.materialized,
                release_id,
                stamp,
                stamp,
            ],
        )
    for fp in tests:
        con.execute(f"insert or replace into {CONTROL_SCHEMA}.tests values (?, ?)", [fp, stamp])


def published(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [CONTROL_SCHEMA, "published"],
    ).fetchone()
    if not exists or not exists[0]:  # a warehouse nothing was deployed to
        return {}
    return dict(con.execute(f"select key, value from {CONTROL_SCHEMA}.published").fetchall())


def published_views(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {
        (schema, view)
        for schema, view in con.execute(
            f"select schema_name, view_name from {CONTROL_SCHEMA}.published_views"
        ).fetchall()
    }


def relation_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str, str]]:
    """(fingerprint, name, physical_schema, physical_name, materialized) of every registered relation."""
    return [
        (str(a), str(b), str(c), str(d), str(e))
        for a, b, c, d, e in con.execute(
            f"select fingerprint, name, physical_schema, physical_name, materialized "
            f"from {CONTROL_SCHEMA}.relations order by name"
        ).fetchall()
    ]


def forget_relations(con: duckdb.DuckDBPyConnection, physical_names: Iterable[str]) -> None:
    """Unregister the relations named ``physical_names`` (they were dropped)."""
    for name in physical_names:
        con.execute(f"delete from {CONTROL_SCHEMA}.relations where physical_name = ?", [name])


def mark_refreshing(con: duckdb.DuckDBPyConnection, fingerprints: Iterable[str]) -> None:
    stamp = now()
    for fp in fingerprints:
        con.execute(
            f"update {CONTROL_SCHEMA}.relations set refreshing_since = ? where fingerprint = ?",
            [stamp, fp],
        )


def mark_refreshed(
    con: duckdb.DuckDBPyConnection, fingerprints: Iterable[str], succeeded: Iterable[str]
) -> None:
    """End the refresh of ``fingerprints``; those that ``succeeded`` are as of now."""
    stamp, ok = now(), set(succeeded)
    for fp in fingerprints:
        con.execute(
            f"update {CONTROL_SCHEMA}.relations set refreshing_since = null, "
            "refreshed_at = case when ? then ? else refreshed_at end where fingerprint = ?",
            [fp in ok, stamp, fp],
        )


def freshness(
    con: duckdb.DuckDBPyConnection, fingerprints: Iterable[str]
) -> list[dict[str, object]]:
    """Per relation among ``fingerprints``: name, materialization, as of when its data is, and since
    when a refresh runs (None: not refreshing)."""
    wanted = set(fingerprints)
    rows = con.execute(
        f"select fingerprint, name, physical_name, materialized, refreshed_at, refreshing_since "
        f"from {CONTROL_SCHEMA}.relations order by name"
    ).fetchall()
    return [
        {
            "model": name,
            "relation": physical,
            "materialized": materialized,
            "as_of": refreshed,
            "refreshing_since": refreshing,
        }
        for fp, name, physical, materialized, refreshed, refreshing in rows
        if fp in wanted
    ]


def published_view_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    return {
        (str(schema), str(view)): str(fp)
        for schema, view, fp in con.execute(
            f"select schema_name, view_name, fingerprint from {CONTROL_SCHEMA}.published_views"
        ).fetchall()
    }


def save_diff(
    con: duckdb.DuckDBPyConnection, fingerprint: str, live: str, release_id: str, diff: ModelDiff
) -> None:
    con.execute(
        f"insert or replace into {CONTROL_SCHEMA}.diffs values (?, ?, ?, ?, ?)",
        [fingerprint, live, release_id, diff.model_dump_json(), now()],
    )


def load_diff(con: duckdb.DuckDBPyConnection, fingerprint: str, live: str) -> ModelDiff | None:
    row = con.execute(
        f"select diff from {CONTROL_SCHEMA}.diffs where fingerprint = ? and live_fingerprint = ?",
        [fingerprint, live],
    ).fetchone()
    return ModelDiff.model_validate_json(row[0]) if row else None


def diffs_for(con: duckdb.DuckDBPyConnection, release_id: str) -> list[ModelDiff]:
    rows = con.execute(
        f"select diff from {CONTROL_SCHEMA}.diffs where release_id = ? order by diffed_at",
        [release_id],
    ).fetchall()
    return [ModelDiff.model_validate_json(diff) for (diff,) in rows]


def refreshed_at(con: duckdb.DuckDBPyConnection) -> dict[str, datetime]:
    """As of when each registered relation's data is, by fingerprint."""
    return {
        str(fp): at
        for fp, at in con.execute(
            f"select fingerprint, refreshed_at from {CONTROL_SCHEMA}.relations"
        ).fetchall()
        if at is not None
    }


class DuckDbDiffStore:
    """The data diff gate's view of one DuckDB warehouse (:class:`~finsight_release.targets.diff_gate.
    DiffStore`), on an open connection."""

    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def columns(self, schema: str, relation: str) -> list[tuple[str, str]]:
        return [
            (str(name), str(kind))
            for name, kind in self.con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, relation],
            ).fetchall()
        ]

    def first_row(self, sql: str) -> tuple[Any, ...]:
        row = self.con.execute(sql).fetchone()
        return tuple(row) if row is not None else ()

    def relations(self) -> dict[str, str]:
        return {row[0]: row[3] for row in relation_rows(self.con)}

    def live_views(self) -> dict[tuple[str, str], str]:
        return published_view_fingerprints(self.con)

    def save_diff(self, fingerprint: str, live: str, release_id: str, diff: ModelDiff) -> None:
        save_diff(self.con, fingerprint, live, release_id, diff)

    def load_diff(self, fingerprint: str, live: str) -> ModelDiff | None:
        return load_diff(self.con, fingerprint, live)
