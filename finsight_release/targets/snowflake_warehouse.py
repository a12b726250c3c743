"""The AWS-mode warehouse target: the dbt project on Snowflake with per-model versions and a published
view layer, the design of :class:`~finsight_release.targets.warehouse.DuckDbWarehouseTarget` in
Snowflake SQL.

``prepare`` builds only the models whose fingerprint the environment's database never built, each
into its own transient table (or view) ``FINSIGHT_PHYSICAL.<model>__<fp12>`` from the SQL the target
generates (:mod:`finsight_release.targets.snowflake_sql`: dbt's compiled SQL transpiled by sqlglot,
refs re-pointed at physical relations); unchanged models are reused by reference, and a model whose
fingerprint another database of the same account holds (``clone_from``) is a zero-copy ``CLONE`` of
it. Then the data tests whose fingerprint is new run. ``switch`` points the published schemas at the
release's relations: by ``ALTER SCHEMA ... SWAP WITH`` a complete shadow schema (``switch_mode="swap"``,
atomic per schema on Snowflake), or by views replaced in one transaction (``"views"``). Either is
refused while a physical relation is missing, so a failed build never reaches consumers. Rollback is a
switch back; retention and the janitor keep what the DuckDB target keeps
(:mod:`finsight_release.targets.virtual_layer` decides both).

Connections go through ``snowflake.connector`` (what dagster-snowflake's ``SnowflakeResource`` wraps),
looked up at call time so ``fakesnow.patch()`` applies in tests; the core never imports dagster.
Policy for stateful nodes: incremental models as on DuckDB (a new fingerprint builds in full, an
unchanged one keeps its relation); snapshots and seeds are not deployed by this target: a project
version with one is refused at prepare, naming it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from finsight_release.envs.environment import Environment
from finsight_release.envs.faults import fault_point
from finsight_release.envs.platform_config import PlatformConfig, load_platform_config
from finsight_release.errors import (
    DbtRunError,
    NothingPublishedError,
    PublishError,
    SourceReadError,
    WarehouseDeployError,
)
from finsight_release.observe.logging import get_logger
from finsight_release.one_line import one_line
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.layout import CONFIG_DIR
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets import snowflake_sql as sql
from finsight_release.targets import snowflake_state as state
from finsight_release.targets.data_diff import ModelDiff
from finsight_release.targets.dbt_overlay import compile_manifest, project_copy
from finsight_release.targets.diff_gate import blocked_message, gate_diffs
from finsight_release.targets.model_plan import ModelPlan, ModelVersion, plan_from_manifest
from finsight_release.targets.virtual_layer import (
    JanitorReport,
    janitor_split,
    missing_message,
    missing_relations,
    older_tables,
    view_changes,
)
from finsight_release.validate.dbt.sources import DbtTarget, SourceTable, source_tables
from finsight_release.validate.secrets.refs import SecretResolver
from finsight_release.validate.warehouse.problem import WarehouseProblem
from finsight_release.validate.warehouse.snowflake_identity import deploy_identity, source_vars
from finsight_release.validate.warehouse.snowflake_preflight import SnowflakeIdentity

PUBLISHED_SCHEMA = "analytics"
SwitchMode = Literal["swap", "views"]
Connect = Callable[..., Any]

# Errors that mean the session or the network failed, not the statement: building stops at once.
_SQL_ERRORS = ("ProgrammingError", "NotSupportedError", "IntegrityError", "DataError")


@dataclass(frozen=True)
class SnowflakeEnvironment:
    """One environment's Snowflake: its database, who deploys there (``login`` builds the identity,
    reading its credential secret, at each session), and the variables its dbt sources read
    (``FINSIGHT_RAW_DATABASE`` ...), as the env config gives them."""

    database: str
    login: Callable[[], SnowflakeIdentity]
    source_vars: Mapping[str, str] = field(default_factory=dict)
    clone_from: tuple[
        str, ...
    ] = ()  # databases of this account whose physical tables may be cloned


def snowflake_environment(
    config: PlatformConfig, resolver: SecretResolver | None = None
) -> SnowflakeEnvironment:
    """The Snowflake environment an env config describes (``warehouse.type: snowflake``); a config
    or credential that cannot give a deploy identity raises WarehouseDeployError at login."""

    def login() -> SnowflakeIdentity:
        identity = deploy_identity(config, resolver)
        if isinstance(identity, WarehouseProblem):
            hint = f" ({identity.hint})" if identity.hint else ""
            raise WarehouseDeployError(f"{identity.message}{hint}")
        return identity

    return SnowflakeEnvironment(config.warehouse.database, login, source_vars(config))


def _says_snowflake(path: Path) -> bool:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # config.schema reports an unreadable config; it names no Snowflake
    warehouse = data.get("warehouse") if isinstance(data, dict) else None
    return isinstance(warehouse, dict) and warehouse.get("type") == "snowflake"


def snowflake_environments(platform: Path) -> dict[str, SnowflakeEnvironment]:
    """Every environment whose config in ``platform`` says ``warehouse.type: snowflake``; such a
    config that does not validate raises ConfigError naming the file and field (deploying that
    environment to the wrong warehouse would be worse)."""
    found = {}
    for env in Environment:
        path = Path(platform) / CONFIG_DIR / f"{env}.yaml"
        if path.is_file() and _says_snowflake(path):
            found[str(env)] = snowflake_environment(load_platform_config(path))
    return found


def refuse_unsupported(plan: ModelPlan) -> None:
    """Raise WarehouseDeployError naming the snapshots and seeds of ``plan``: their history or file
    cannot be rebuilt from a SELECT, and this target deploys models only."""
    unsupported = [m for m in plan.relations if m.resource_type != "model"]
    if unsupported:
        raise WarehouseDeployError(
            f"dbt project {plan.digest[:12]} has "
            + ", ".join(f"{m.resource_type} {m.name}" for m in unsupported)
            + ": the Snowflake target deploys models only (run snapshots and seeds with dbt)"
        )


@dataclass(frozen=True)
class PublishedVersion:
    """What an environment's Snowflake database publishes: the release, its plan, its Snowflake SQL
    and its dbt sources as that environment resolves them."""

    release_id: str
    plan: ModelPlan
    sql: sql.ProjectSql
    sources: list[SourceTable]


class SnowflakeWarehouseTarget:
    """Deploys the dbt project into each environment's Snowflake database."""

    name = "warehouse"
    kinds = frozenset({ArtifactKind.DBT_PROJECT})

    def __init__(
        self,
        projects_dir: Path,
        environments: Mapping[str, SnowflakeEnvironment],
        connect: Connect | None = None,
        switch_mode: SwitchMode = "swap",
        reader_roles: Sequence[str] = (),
    ) -> None:
        """``connect`` replaces ``snowflake.connector.connect``; ``reader_roles`` are granted USAGE
        and SELECT on the published schemas."""
        self.projects_dir = Path(projects_dir)
        self.environments = dict(environments)
        self.connect = connect
        self.switch_mode = switch_mode
        self.reader_roles = tuple(reader_roles)
        self.built_models = 0  # models the last prepare built
        self.cloned_models = 0  # of which zero-copy clones
        self.log = get_logger("finsight_release.warehouse.snowflake")

    def serves(self, env: Environment) -> bool:
        """``env``'s warehouse is one of this target's Snowflake databases."""
        return str(env) in self.environments

    def _environment(self, env: Environment) -> SnowflakeEnvironment:
        try:
            return self.environments[str(env)]
        except KeyError:
            raise WarehouseDeployError(f"{env} has no Snowflake warehouse configured") from None

    @contextmanager
    def session(self, env: Environment) -> Iterator[Any]:
        """A cursor on ``env``'s database as the deploy identity; a failed login raises one line."""
        target = self._environment(env)
        identity = target.login()
        connect = self.connect
        if connect is None:
            import snowflake.connector  # looked up at call time so fakesnow.patch() applies

            connect = snowflake.connector.connect
        who = f"{identity.user} on account {identity.account}"
        try:
            con = connect(**identity.connect_args())
        except Exception as exc:  # any login or network failure: one line, nothing changed
            raise WarehouseDeployError(
                f"cannot connect to Snowflake database {target.database} of {env} as {who}: "
                f"{one_line(exc)}"
            ) from exc
        try:
            cur = con.cursor()
            state.ensure(cur)
            yield cur
        finally:
            try:
                con.close()
            except Exception:  # noqa: BLE001 - closing a broken session must not hide the error
                pass

    # --- versions ---------------------------------------------------------------------------

    def version(
        self, env: Environment, artifact: Artifact, repo: ReleaseRepository | None
    ) -> tuple[ModelPlan, sql.ProjectSql]:
        """The plan of a dbt project version and its Snowflake SQL for ``env``'s sources. dbt compiles
        each version once (the manifest is cached beside the project copies); without ``repo`` the
        version must have been prepared here."""
        if repo is not None:
            project = project_copy(self.projects_dir, artifact, repo)
        else:
            project = self._prepared_project(artifact.digest)
        return self._version(env, artifact.digest, artifact.name, project)

    def _prepared_project(self, digest: str) -> Path:
        if not (self.projects_dir / f"{digest}.manifest.json").is_file():
            raise WarehouseDeployError(
                f"dbt project {digest[:12]} was never prepared in {self.projects_dir}"
            )
        return self.projects_dir / digest

    def _version(
        self, env: Environment, digest: str, name: str, project: Path
    ) -> tuple[ModelPlan, sql.ProjectSql]:
        cached = self.projects_dir / f"{digest}.manifest.json"
        if cached.is_file():
            manifest = json.loads(cached.read_text())
        else:
            try:
                manifest = compile_manifest(project, PUBLISHED_SCHEMA)
            except DbtRunError as exc:
                raise WarehouseDeployError(
                    f"dbt project {name} ({digest[:12]}) does not compile: {exc}"
                ) from exc
            tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(manifest))
            tmp.replace(cached)
        plan = plan_from_manifest(digest, manifest)
        refuse_unsupported(plan)
        return plan, sql.project_sql(manifest, plan, self.sources(env, project, digest))

    def sources(self, env: Environment, project: Path, digest: str) -> list[SourceTable]:
        """The dbt sources of ``project`` as they resolve for ``env``'s Snowflake database (its
        ``FINSIGHT_RAW_DATABASE`` ... variables)."""
        target = self._environment(env)
        try:
            return source_tables(
                project, DbtTarget("snowflake", target.database), target.source_vars
            )
        except SourceReadError as exc:
            raise WarehouseDeployError(f"dbt sources of {digest[:12]}: {exc}") from exc

    def published_version(self, env: Environment) -> PublishedVersion:
        """The release ``env``'s database publishes, with its plan, its Snowflake SQL and its
        sources; NothingPublishedError when it publishes none (the post-deploy checks read this)."""
        with self.session(env) as cur:
            published = state.published(cur)
            plan = state.load_plan(cur, published.get("digest", "")) if published else None
        if plan is None or not published.get("release"):
            raise NothingPublishedError(
                f"{env} publishes no release in Snowflake database "
                f"{self._environment(env).database}: promote a release with a dbt project to "
                f"{env} first"
            )
        project = self._prepared_project(plan.digest)
        _, project_sql = self._version(env, plan.digest, plan.digest[:12], project)
        return PublishedVersion(
            published["release"], plan, project_sql, self.sources(env, project, plan.digest)
        )

    # --- prepare ----------------------------------------------------------------------------

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Build the models whose fingerprint is new in ``env``'s database (clone them when another
        database holds them) and run the tests whose fingerprint is new; the published layer is
        untouched. A model that fails is dropped and named with Snowflake's message, its downstream
        models are skipped, the tests of what built still run, and what built and passed stays
        registered (a retry reuses it). Then each table built whose published view would switch is
        diffed against the live relation (:mod:`finsight_release.targets.data_diff`); a diff over
        a threshold in its model's ``meta`` refuses the release."""
        self.built_models = self.cloned_models = 0
        where = f"Snowflake database {self._environment(env).database}"
        for artifact in artifacts:
            plan, project_sql = self.version(env, artifact, repo)
            blocked: list[str] = []
            with self.session(env) as cur:
                state.save_plan(cur, plan)
                done = state.built(cur, plan)
                todo = [m for m in plan.relations if m.fingerprint not in done]
                failed = self._build(cur, env, plan, project_sql, todo, manifest.release_id)
                broken = {m.unique_id for m in todo if m.name in failed}
                built = {m.unique_id for m in todo} - broken
                failed |= self._test(cur, plan, project_sql, built, broken)
                if not failed:
                    fingerprints = {m.fingerprint for m in todo if m.unique_id in built}
                    blocked = self._gate_diffs(cur, plan, fingerprints, manifest.release_id)
            if failed:
                raise WarehouseDeployError(
                    f"building release {manifest.release_id} in {where} failed "
                    "(published layer unchanged): "
                    + " | ".join(f"{name}: {why}" for name, why in failed.items())
                )
            if blocked:
                raise WarehouseDeployError(blocked_message(manifest.release_id, where, blocked))

    def _gate_diffs(self, cur: Any, plan: ModelPlan, built: set[str], release_id: str) -> list[str]:
        """Diff each table of ``plan`` just ``built`` whose published view would switch against the
        relation consumers read, in Snowflake SQL, and store it; the switching tables whose stored
        diff is over the thresholds of their model's ``meta`` (the release is refused on every
        retry while one is)."""
        diffs, blocked = gate_diffs(state.SnowflakeDiffStore(cur), plan, built, release_id)
        for diff in diffs:
            self.log.info("data diff", model=diff.model, diff=diff.summary())
        return blocked

    def diffs(self, env: Environment, release_id: str) -> list[ModelDiff]:
        """The data diffs recorded when ``release_id`` was prepared in ``env``'s database."""
        with self.session(env) as cur:
            return state.diffs_for(cur, release_id)

    def _build(
        self,
        cur: Any,
        env: Environment,
        plan: ModelPlan,
        project_sql: sql.ProjectSql,
        todo: Sequence[ModelVersion],
        release_id: str,
    ) -> dict[str, str]:
        """Build ``todo`` in dependency order; failures by model name (empty: all built)."""
        clones = self._clonable(cur, env, todo)
        failed: dict[str, str] = {}
        failed_ids: set[str] = set()
        names = plan.by_id()
        self.log.info("building", models=[str(m) for m in todo], cloned=sorted(clones))
        for m in todo:
            upstream = [names[p].name for p in m.depends_on if p in failed_ids]
            if upstream:
                failed[m.name] = f"skipped: upstream {', '.join(upstream)} failed"
                failed_ids.add(m.unique_id)
                continue
            statement = (
                sql.clone_physical(m, clones[m.fingerprint])
                if m.fingerprint in clones
                else sql.create_physical(m, project_sql.models[m.unique_id])
            )
            fault_point("warehouse.build", m.name)
            try:
                cur.execute(statement)
                broken = self._contract(cur, m, project_sql)
                if broken:
                    failed[m.name] = broken
                    failed_ids.add(m.unique_id)
                    self._drop(cur, [m])
                    continue
                state.register(cur, m, release_id)
            except Exception as exc:
                if type(exc).__name__ not in _SQL_ERRORS:
                    raise WarehouseDeployError(
                        f"Snowflake database {self._environment(env).database} became unreachable "
                        f"while building {m.name} (published layer unchanged; relations built so "
                        f"far are reused on retry): {one_line(exc)}"
                    ) from exc
                failed[m.name] = one_line(exc)
                failed_ids.add(m.unique_id)
                self._drop(cur, [m])
                continue
            self.built_models += 1
            self.cloned_models += m.fingerprint in clones
        return failed

    def _contract(self, cur: Any, m: ModelVersion, project_sql: sql.ProjectSql) -> str | None:
        """Check the relation just built against the model's enforced contract (its columns, and no
        NULL in a not-null column); the problem, or None."""
        contract = project_sql.contracts.get(m.unique_id)
        if contract is None:
            return None
        declared, not_null = contract
        columns = [name for name, _ in state.columns(cur, m.physical_name)]
        null_rows = 0
        if not_null and {c.upper() for c in not_null} <= {c.upper() for c in columns}:
            cur.execute(sql.null_rows_query(m, not_null))
            (null_rows,) = cur.fetchone()
        return sql.contract_problem(declared, not_null, columns, int(null_rows or 0))

    def _clonable(self, cur: Any, env: Environment, todo: Sequence[ModelVersion]) -> dict[str, str]:
        """Fingerprints of ``todo``'s tables that a ``clone_from`` database holds: fingerprint ->
        that database (its registered relations only, never a leftover)."""
        found: dict[str, str] = {}
        wanted = {m.fingerprint: m for m in todo if m.is_table}
        for database in self._environment(env).clone_from:
            if not wanted:
                break
            other = sql.qualified(database, sql.CONTROL_SCHEMA, "relations")
            try:
                cur.execute(f"SELECT fingerprint FROM {other}")
                there = {str(fp) for (fp,) in cur.fetchall()}
            except Exception as exc:  # noqa: BLE001 - a database we cannot read is built instead
                self.log.info("clone source unreadable", database=database, error=one_line(exc))
                continue
            for fp in sorted(there & set(wanted)):
                found[fp] = database
                del wanted[fp]
        return found

    def _test(
        self,
        cur: Any,
        plan: ModelPlan,
        project_sql: sql.ProjectSql,
        built: set[str],
        broken: set[str],
    ) -> dict[str, str]:
        """Run the tests whose fingerprint never passed here (not those of a ``broken`` model); a
        failing ``error`` test drops the models it tests that this prepare ``built`` (a retry builds
        them again)."""
        passed = state.passed_tests(cur)
        failed: dict[str, str] = {}
        blamed: set[str] = set()
        for t in plan.tests:
            if t.fingerprint in passed or set(t.depends_on) & broken:
                continue
            query, severity = project_sql.tests[t.unique_id]
            cur.execute(sql.test_query(query))
            (count,) = cur.fetchone()
            if not count:
                state.pass_test(cur, t.fingerprint)
            elif severity == "warn":
                self.log.warning("test warns", test=t.name, failures=count)
            else:
                failed[t.name] = f"{count} failing row(s)"
                blamed |= set(t.depends_on) & built
        self._drop(cur, [m for m in plan.relations if m.unique_id in blamed])
        return failed

    def _drop(self, cur: Any, models: Sequence[ModelVersion]) -> None:
        """Drop and forget what a failed build left of ``models``."""
        for m in models:
            cur.execute(sql.drop_physical(m.physical_name, is_view=m.materialized == "view"))
        state.forget_relations(cur, [m.physical_name for m in models])

    # --- switch -----------------------------------------------------------------------------

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None:
        """Point the published schemas at the release's physical relations (refused, nothing
        changed, while one is missing); a retired dbt project unpublishes it."""
        where = f"Snowflake database {self._environment(env).database}"
        for artifact in artifacts:
            with self.session(env) as cur:
                plan = state.load_plan(cur, artifact.digest)
                if plan is None:
                    raise PublishError(
                        f"dbt project {artifact.digest[:12]} was never prepared in {where}: "
                        "nothing to publish"
                    )
                missing = missing_relations(plan, state.existing_relations(cur))
                if missing:
                    raise PublishError(missing_message(manifest.release_id, where, missing))
                if self.switch_mode == "views":
                    self._switch_views(cur, plan, manifest.release_id, where)
                else:
                    self._switch_swap(cur, plan, manifest.release_id, where)
        if retired and not artifacts:
            with self.session(env) as cur:
                for schema, view in state.published_views(cur):
                    cur.execute(f"DROP VIEW IF EXISTS {sql.qualified(schema, view)}")
                state.record_views(cur, list(state.published_views(cur)), [])
                state.set_published(cur, None, None)

    def _refresh_record(self, cur: Any, plan: ModelPlan, release_id: str) -> dict[str, Any] | None:
        """The refresh this switch queues: the tables it points at that hold older data than the
        ones consumers read now (a rollback), or None."""
        older = older_tables(plan, state.published_views(cur), state.built_at(cur))
        if not older:
            return None
        stamp = state.now().isoformat(timespec="seconds")
        queued = {"id": uuid.uuid4().hex[:12], "state": "queued", "queued_at": stamp}
        return {**queued, "release": release_id, "relations": older}

    def _switch_views(self, cur: Any, plan: ModelPlan, release_id: str, where: str) -> None:
        refresh = self._refresh_record(cur, plan, release_id)
        changes = view_changes(plan, state.published_views(cur), state.existing_views(cur))
        statements = sql.view_switch(changes.drop, changes.replace, changes.schemas)
        try:
            for statement in statements:
                cur.execute(statement)
            for statement in sql.reader_grants(changes.schemas, self.reader_roles):
                cur.execute(statement)
            state.record_views(
                cur, changes.drop, [(name, m.fingerprint) for name, m in changes.replace]
            )
            state.set_published(cur, plan.digest, release_id)
            state.set_refresh_record(cur, refresh)
            fault_point("warehouse.publish")
            cur.execute("COMMIT")
        except Exception as exc:
            cur.execute("ROLLBACK")
            raise PublishError(
                f"publishing {release_id} in {where} failed: {one_line(exc)}"
            ) from exc

    def _switch_swap(self, cur: Any, plan: ModelPlan, release_id: str, where: str) -> None:
        refresh = self._refresh_record(cur, plan, release_id)
        live = state.published_views(cur)
        wanted = {(m.published_schema, m.published_name): m for m in plan.relations}
        try:
            for statement in sql.swap_switch(plan, self.reader_roles):
                cur.execute(statement)
        except Exception as exc:
            raise PublishError(
                f"publishing {release_id} in {where} failed: {one_line(exc)}"
            ) from exc
        for schema in sorted({s for s, _ in live} - {s for s, _ in wanted}):
            for name in [n for n in live if n[0] == schema]:
                cur.execute(f"DROP VIEW IF EXISTS {sql.qualified(*name)}")
        state.record_views(
            cur, sorted(set(live) - set(wanted)), [(n, m.fingerprint) for n, m in wanted.items()]
        )
        state.set_published(cur, plan.digest, release_id)
        state.set_refresh_record(cur, refresh)

    # --- refresh after a rollback --------------------------------------------------------------

    def after_live(self, env: Environment, manifest: ReleaseManifest) -> None:
        """Once the operation is live: refresh the tables its switch queued (a rollback restored
        tables older than what consumers read). Consumers already read the restored release; each
        table is replaced in one statement, so they never see a half-refreshed one."""
        with self.session(env) as cur:
            record = state.refresh_record(cur)
        if record is None or record.get("state") != "queued":
            return
        artifacts = manifest.of_kind(ArtifactKind.DBT_PROJECT)
        if artifacts:
            self.refresh(env, artifacts[0], record)

    def refresh(self, env: Environment, artifact: Artifact, record: dict[str, Any]) -> None:
        """Rebuild the tables ``record`` names from current sources, in dependency order, in place
        (``CREATE OR REPLACE``: an incremental model is rebuilt in full), recording in ``record``
        (stored in the database) when it ran and as of when each table's data is."""
        plan, project_sql = self.version(env, artifact, None)
        wanted = {r["model"]: r for r in record["relations"]}
        with self.session(env) as cur:
            record.update(state="running", started_at=state.now().isoformat(timespec="seconds"))
            state.set_refresh_record(cur, record)
            try:
                for m in plan.relations:
                    if m.name in wanted:
                        cur.execute(sql.create_physical(m, project_sql.models[m.unique_id]))
                        stamp = state.touch(cur, m.fingerprint)
                        wanted[m.name]["as_of"] = stamp.isoformat(timespec="seconds")
                record["state"] = "done"
            except Exception as exc:  # noqa: BLE001 - a failed refresh is recorded, the release stays live
                record.update(state="failed", error=one_line(exc))
                self.log.warning("refresh failed", environment=str(env), error=one_line(exc))
            record["finished_at"] = state.now().isoformat(timespec="seconds")
            state.set_refresh_record(cur, record)

    def refresh_status(self, env: Environment) -> dict[str, Any] | None:
        """The last refresh of ``env``: state, release, when, and per table as of when."""
        with self.session(env) as cur:
            return state.refresh_record(cur)

    # --- reading ----------------------------------------------------------------------------

    def verify(
        self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]
    ) -> list[str]:
        """The published layer serves this version and every published view resolves."""
        problems = []
        for artifact in artifacts:
            with self.session(env) as cur:
                live = state.published(cur).get("digest")
                if live != artifact.digest:
                    problems.append(
                        f"published layer serves {live and live[:12]}, expected {artifact.digest[:12]}"
                    )
                    continue
                for schema, view in sorted(state.published_views(cur)):
                    try:
                        cur.execute(f"SELECT * FROM {sql.qualified(schema, view)} LIMIT 0")
                    except Exception as exc:  # noqa: BLE001 - each broken view is one problem
                        problems.append(f"{schema}.{view} does not resolve: {one_line(exc)}")
        return problems

    def published(self, env: Environment) -> dict[str, str]:
        """What ``env``'s published layer serves: ``digest``, ``release``, ``published_at``."""
        with self.session(env) as cur:
            return state.published(cur)

    def sweep(self, env: Environment, digests: set[str], dry_run: bool = False) -> JanitorReport:
        """Drop the physical relations of ``env``'s database that no plan of ``digests`` (nor the
        published layer) uses; ``dry_run`` only reports."""
        report = JanitorReport(env)
        with self.session(env) as cur:
            present = state.existing_relations(cur)
            report.kept, report.dropped = janitor_split(
                state.all_plans(cur), digests, state.published(cur).get("digest"), set(), present
            )
            if not dry_run:
                for name in report.dropped:
                    cur.execute(sql.drop_physical(name, is_view=present[name]))
                state.forget_relations(cur, report.dropped)
        return report
