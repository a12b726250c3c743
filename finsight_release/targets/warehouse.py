"""The embedded warehouse target: dbt built into DuckDB, one schema per dbt-project version.

Each dbt-project digest is built once into its own schema ``dbt_<digest12>`` (its tests run as part
of ``dbt build``); going live republishes the stable ``analytics`` schema as views over that version
in one transaction. Rollback republishes the older version's views: no rebuild, since its tables are
still there. Snowflake blue/green in AWS mode plugs in behind the same interface.

DuckDB allows one writing process per file, and a reader (doctor, a preflight, an analyst's session)
may hold it for a moment: every connection, and a dbt build refused for the lock, waits for the file
with a bounded retry (``lock_timeout_s``) instead of failing the deploy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import duckdb

from finsight_release.envs.environment import Environment
from finsight_release.envs.faults import fault_point
from finsight_release.errors import FinsightError
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.folder import make_readable

T = TypeVar("T")

PUBLISHED_SCHEMA = "analytics"
CONTROL_SCHEMA = "_finsight"


class WarehouseDeployError(FinsightError):
    """dbt build or publication into the warehouse failed."""


def version_schema(digest: str) -> str:
    """The schema a dbt-project version is built into."""
    return f"dbt_{digest[:12]}"


def duckdb_file(warehouse_dir: Path, env: str) -> Path:
    """The DuckDB file an environment's warehouse lives in: ``<warehouse_dir>/<env>.duckdb``."""
    return Path(warehouse_dir) / f"{env}.duckdb"


class DuckDbWarehouseTarget:
    """Deploys the dbt project into ``<warehouse_dir>/<env>.duckdb``."""

    name = "warehouse"
    kinds = frozenset({ArtifactKind.DBT_PROJECT})

    def __init__(
        self,
        warehouse_dir: Path,
        projects_dir: Path,
        seed_scale: int = 1,
        lock_timeout_s: float = 120.0,
    ) -> None:
        self.warehouse_dir = Path(warehouse_dir)
        self.projects_dir = Path(projects_dir)
        self.seed_scale = seed_scale
        self.lock_timeout_s = lock_timeout_s

    def database(self, env: Environment) -> Path:
        return duckdb_file(self.warehouse_dir, str(env))

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Build each project version into its own schema unless it was built here before (``analytics``
        is untouched: consumers still read the live version)."""
        for artifact in artifacts:
            db = self.database(env)
            self._ensure_raw_data(db)
            schema = version_schema(artifact.digest)
            if not self._built(db, schema):
                project = self._project(artifact, repo)
                fault_point("warehouse.build", artifact.name)
                self._build(project, db, schema)

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None:
        """Republish ``analytics`` over the prepared version (one transaction); a retired dbt project
        unpublishes it."""
        db = self.database(env)
        for artifact in artifacts:
            self._publish(db, version_schema(artifact.digest))
        if retired and not artifacts:
            self._unpublish(db)

    def apply(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Prepare then switch."""
        self.prepare(env, manifest, artifacts, repo)
        self.switch(env, manifest, artifacts)

    def connect(self, db: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A connection to ``db``, waiting up to ``lock_timeout_s`` while another process holds its lock."""
        return self._wait_for_lock(db, lambda: duckdb.connect(str(db), read_only=read_only))

    def _wait_for_lock(self, db: Path, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it is not refused for DuckDB's file lock, with backoff, for a bounded time."""
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                return attempt()
            except (duckdb.IOException, FinsightError) as exc:
                if "could not set lock" not in str(exc).lower():
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseDeployError(
                        f"warehouse {db} stayed locked by another process for {self.lock_timeout_s:g} s: "
                        f"{str(exc).splitlines()[0]}"
                    ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def verify(
        self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]
    ) -> list[str]:
        """The published schema points at this version and every published view resolves."""
        problems = []
        for artifact in artifacts:
            db, schema = self.database(env), version_schema(artifact.digest)
            with self.connect(db, read_only=True) as con:
                live = con.execute(
                    f"select value from {CONTROL_SCHEMA}.published where key = 'schema'"
                ).fetchone()
                if not live or live[0] != schema:
                    problems.append(
                        f"{PUBLISHED_SCHEMA} publishes {live and live[0]}, expected {schema}"
                    )
                    continue
                for (view,) in con.execute(
                    "select table_name from information_schema.tables where table_schema = ?",
                    [PUBLISHED_SCHEMA],
                ).fetchall():
                    try:
                        con.execute(f'select * from {PUBLISHED_SCHEMA}."{view}" limit 0')
                    except duckdb.Error as exc:
                        problems.append(f"{PUBLISHED_SCHEMA}.{view} does not resolve: {exc}")
        return problems

    def live_schema(self, env: Environment) -> str | None:
        """The version schema ``analytics`` publishes in ``env``, or None."""
        db = self.database(env)
        if not db.exists():
            return None
        with self.connect(db, read_only=True) as con:
            try:
                row = con.execute(
                    f"select value from {CONTROL_SCHEMA}.published where key = 'schema'"
                ).fetchone()
            except duckdb.Error:
                return None
        return row[0] if row else None

    def _ensure_raw_data(self, db: Path) -> None:
        from finsight_release.reference.synthetic import generate_warehouse

        db.parent.mkdir(parents=True, exist_ok=True)
        with self.connect(db) as con:
            has_raw = con.execute(
                "select count(*) from information_schema.schemata where schema_name = 'raw'"
            ).fetchone()
        if not has_raw or not has_raw[0]:
            self._wait_for_lock(db, lambda: generate_warehouse(db, scale=self.seed_scale))

    def _project(self, artifact: Artifact, repo: ReleaseRepository) -> Path:
        """The dbt project version's directory, materialized once (under a temporary name first, so a
        crash never leaves a half-written project that looks complete)."""
        project = self.projects_dir / artifact.digest
        if (project / "dbt_project.yml").is_file():
            return project
        self.projects_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.projects_dir, prefix=".staging-"))
        try:
            repo.materialize(artifact, tmp)
            make_readable(tmp)  # like the published folders: readable by the platform's other users
            if project.exists():  # a half-written directory from before this layout
                shutil.rmtree(project)
            os.rename(tmp, project)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return project

    def _built(self, db: Path, schema: str) -> bool:
        with self.connect(db) as con:
            con.execute(f"create schema if not exists {CONTROL_SCHEMA}")
            con.execute(
                f"create table if not exists {CONTROL_SCHEMA}.builds "
                "(schema_name varchar primary key, built_at timestamp default current_timestamp)"
            )
            row = con.execute(
                f"select count(*) from {CONTROL_SCHEMA}.builds where schema_name = ?", [schema]
            ).fetchone()
            return bool(row and row[0])

    def _build(self, project: Path, db: Path, schema: str) -> None:
        from finsight_release.reference.dbt_runner import dbt_build

        self._wait_for_lock(db, lambda: dbt_build(project, db, schema=schema))
        with self.connect(db) as con:
            con.execute(
                f"insert or ignore into {CONTROL_SCHEMA}.builds (schema_name) values (?)", [schema]
            )

    def _publish(self, db: Path, schema: str) -> None:
        """Recreate ``analytics`` as views over ``schema`` (and its custom sub-schemas) atomically."""
        with self.connect(db) as con:
            relations = con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema = ? or table_schema like ? order by 1, 2",
                [schema, f"{schema}\\_%"],
            ).fetchall()
            if not relations:
                raise WarehouseDeployError(
                    f"dbt version schema {schema} has no relations to publish in {db}"
                )
            con.execute("begin transaction")
            try:
                con.execute(f"drop schema if exists {PUBLISHED_SCHEMA} cascade")
                con.execute(f"create schema {PUBLISHED_SCHEMA}")
                for source_schema, table in relations:
                    con.execute(
                        f'create view {PUBLISHED_SCHEMA}."{table}" as select * from "{source_schema}"."{table}"'
                    )
                con.execute(
                    f"create table if not exists {CONTROL_SCHEMA}.published (key varchar primary key, value varchar)"
                )
                con.execute(
                    f"insert or replace into {CONTROL_SCHEMA}.published values ('schema', ?)",
                    [schema],
                )
                fault_point("warehouse.publish")
                con.execute("commit")
            except duckdb.Error as exc:
                con.execute("rollback")
                raise WarehouseDeployError(f"publishing {schema} in {db} failed: {exc}") from exc

    def _unpublish(self, db: Path) -> None:
        """Drop ``analytics`` and forget the published version (the release no longer has a dbt project)."""
        if not db.exists():
            return
        with self.connect(db) as con:
            con.execute("begin transaction")
            con.execute(f"drop schema if exists {PUBLISHED_SCHEMA} cascade")
            con.execute(f"create schema if not exists {CONTROL_SCHEMA}")
            con.execute(
                f"create table if not exists {CONTROL_SCHEMA}.published (key varchar primary key, value varchar)"
            )
            con.execute(f"delete from {CONTROL_SCHEMA}.published where key = 'schema'")
            con.execute("commit")
