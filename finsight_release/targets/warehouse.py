"""The embedded warehouse target: dbt on DuckDB with per-model versions and a published view layer.

Each dbt project version becomes a :class:`~finsight_release.targets.model_plan.ModelPlan` (one
fingerprint per model from the dbt manifest). ``prepare`` builds only the models whose fingerprint this
environment's warehouse has never built, each into its own physical relation
``finsight_physical.<model>__<fp12>``; every other model of the release is the relation an earlier
release built, reused as it is (no copy). ``switch`` points the published schemas (``analytics`` and
the custom schemas dbt derives from it) at the release's relations with one view per model, in one
transaction, so promotion and rollback are view switches and a failed build never touches what
consumers query. Retention and the janitor are in :mod:`finsight_release.targets.retention`.

DuckDB allows one writing process per file, and a reader (doctor, a preflight, an analyst's session)
may hold it for a moment: every connection, and a dbt build refused for the lock, waits for the file
with a bounded retry (``lock_timeout_s``) instead of failing the deploy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from finsight_release.envs.environment import Environment
from finsight_release.envs.faults import fault_point
from finsight_release.errors import DbtRunError, FinsightError, WarehouseDeployError
from finsight_release.observe.logging import get_logger
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets import published_layer as layer
from finsight_release.targets import refresher
from finsight_release.targets import warehouse_state as state
from finsight_release.targets.data_diff import ModelDiff
from finsight_release.targets.dbt_overlay import (
    BuildOutcome,
    DbtInvoker,
    SelectionFailed,
    build_selection,
    compile_plan,
    dbt_subprocess,
    project_copy,
)
from finsight_release.targets.diff_gate import blocked_message, gate_diffs
from finsight_release.targets.model_plan import (
    PHYSICAL_SCHEMA,
    ModelPlan,
    ModelVersion,
    TestVersion,
    physical_vars,
)
from finsight_release.targets.warehouse_state import CONTROL_SCHEMA

T = TypeVar("T")

PUBLISHED_SCHEMA = "analytics"

__all__ = [
    "CONTROL_SCHEMA",
    "PHYSICAL_SCHEMA",
    "PUBLISHED_SCHEMA",
    "DuckDbWarehouseTarget",
    "WarehouseDeployError",
]


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
        background_refresh: bool = True,
        dbt_invoker: DbtInvoker = dbt_subprocess,
    ) -> None:
        self.warehouse_dir = Path(warehouse_dir)
        self.projects_dir = Path(projects_dir)
        self.seed_scale = seed_scale
        self.lock_timeout_s = lock_timeout_s
        self.background_refresh = background_refresh
        self.dbt_invoker = dbt_invoker  # how a release's models are built (the Dagster layer's run)
        self.built_models = 0  # models the last prepare built (the benchmark reports it)
        self.compile_seconds = 0.0  # the last dbt compile that made a plan
        self.log = get_logger("finsight_release.warehouse")

    def database(self, env: Environment) -> Path:
        return duckdb_file(self.warehouse_dir, str(env))

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Build the models of each project version whose fingerprint is new here, into their physical
        relations, and run the tests whose fingerprint is new; the published layer is untouched.

        Relations built before (by any release) are reused as they are. A failed build registers the
        models that did build (a retry reuses them), drops the relations of the ones that failed and
        raises one line naming each failed model with dbt's message.

        Each table model built here whose published view would switch is then diffed against the
        relation consumers read (:mod:`finsight_release.targets.data_diff`); a diff over a threshold in
        the model's ``meta`` refuses the release, now and on every retry.
        """
        self.built_models = 0
        for artifact in artifacts:
            db = self.database(env)
            if self._prepared(db, artifact.digest, manifest.release_id):
                continue
            self._ensure_raw_data(db)
            plan = self.plan(env, artifact, repo)
            models, tests = self.pending_work(env, plan)
            built: set[str] = set()
            if models or tests:
                project = self._project(artifact, repo)
                fault_point("warehouse.build", artifact.name)
                built = self._build(project, db, plan, models, tests, manifest.release_id)
            self._diff_gate(db, plan, built, manifest.release_id)

    def _prepared(self, db: Path, digest: str, release_id: str) -> bool:
        """The fast path (a rollback, a re-promotion): every model and test of the version is built and
        passed here already; checked on one connection, stored diffs included."""
        if not db.exists():
            return False
        with self.connect(db) as con:
            state.ensure(con)
            plan = state.load_plan(con, digest)
            if plan is None:
                return False
            built = state.built(con, plan, PHYSICAL_SCHEMA)
            passed = state.passed_tests(con)
            if plan.fingerprints() - built or {t.fingerprint for t in plan.tests} - passed:
                return False
            self._gate_diffs(con, db, plan, set(), release_id)
        return True

    def _diff_gate(self, db: Path, plan: ModelPlan, built: set[str], release_id: str) -> None:
        with self.connect(db) as con:
            self._gate_diffs(con, db, plan, built, release_id)

    def _gate_diffs(
        self,
        con: duckdb.DuckDBPyConnection,
        db: Path,
        plan: ModelPlan,
        built: set[str],
        release_id: str,
    ) -> None:
        """Refuse ``plan`` while a stored data diff of one of its switching tables is over its
        thresholds (the tables just ``built`` are diffed first)."""
        diffs, blocked = gate_diffs(state.DuckDbDiffStore(con), plan, built, release_id)
        for diff in diffs:
            self.log.info("data diff", model=diff.model, diff=diff.summary())
        if blocked:
            raise WarehouseDeployError(blocked_message(release_id, str(db), blocked))

    def diffs(self, env: Environment, release_id: str) -> list[ModelDiff]:
        """The data diffs recorded when ``release_id`` was prepared in ``env`` (none in a warehouse
        nothing was deployed to)."""
        db = self.database(env)
        if not db.exists():
            return []
        with self.connect(db, read_only=True) as con:
            try:
                return state.diffs_for(con, release_id)
            except duckdb.CatalogException:  # a warehouse no release was deployed to yet
                return []

    def plan(self, env: Environment, artifact: Artifact, repo: ReleaseRepository) -> ModelPlan:
        """The :class:`ModelPlan` of a dbt project version: from ``env``'s warehouse, else from the
        projects folder's cache, else compiled (once per version) and stored in both."""
        db = self.database(env)
        with self.connect(db) as con:
            state.ensure(con)
            plan = state.load_plan(con, artifact.digest)
        if plan is not None:
            return plan
        cached = self.projects_dir / f"{artifact.digest}.plan.json"
        if cached.is_file():
            plan = ModelPlan.model_validate_json(cached.read_text())
        else:
            project = self._project(artifact, repo)
            started = time.perf_counter()
            try:
                plan = compile_plan(project, artifact.digest, PUBLISHED_SCHEMA)
            except DbtRunError as exc:
                raise WarehouseDeployError(
                    f"dbt project {artifact.name} ({artifact.digest[:12]}) does not compile: {exc}"
                ) from exc
            self.compile_seconds = time.perf_counter() - started
            tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
            tmp.write_text(plan.model_dump_json())
            tmp.replace(cached)
        with self.connect(db) as con:
            state.save_plan(con, plan)
        return plan

    def pending_work(
        self, env: Environment, plan: ModelPlan
    ) -> tuple[list[ModelVersion], list[TestVersion]]:
        """The models of ``plan`` not built in ``env`` yet (or dropped since) and its tests that never
        passed there."""
        with self.connect(self.database(env)) as con:
            state.ensure(con)
            built = state.built(con, plan, PHYSICAL_SCHEMA)
            passed = state.passed_tests(con)
        models = [m for m in plan.relations if m.fingerprint not in built]
        tests = [t for t in plan.tests if t.fingerprint not in passed]
        return models, tests

    def _build(
        self,
        project: Path,
        db: Path,
        plan: ModelPlan,
        models: Sequence[ModelVersion],
        tests: Sequence[TestVersion],
        release_id: str,
    ) -> set[str]:
        """Build ``models`` and run ``tests``; the fingerprints built (registered)."""
        select = sorted({m.name for m in models} | {t.name for t in tests})
        dbt_vars = physical_vars(plan)
        self.log.info("building", models=[str(m) for m in models], tests=len(tests))
        error: DbtRunError | None = None
        outcome: BuildOutcome | None
        try:
            outcome = self.wait_for_lock(
                db,
                lambda: build_selection(
                    project, db, PUBLISHED_SCHEMA, dbt_vars, select, invoke=self.dbt_invoker
                ),
            )
        except DbtRunError as exc:
            error = exc
            outcome = exc.outcome if isinstance(exc, SelectionFailed) else None
        by_id = {m.unique_id: m for m in models}
        good = outcome.good_models(plan, list(by_id)) if outcome else set()
        with self.connect(db) as con:
            state.register(
                con,
                [by_id[uid] for uid in good],
                [
                    t.fingerprint
                    for t in tests
                    if outcome and t.unique_id in outcome.passed_tests(plan)
                ],
                release_id,
                PHYSICAL_SCHEMA,
            )
            if error is not None:
                self._drop_partial(con, [m for m in models if m.unique_id not in good])
        if error is not None:
            raise WarehouseDeployError(
                f"building release {release_id} in {db} failed (published layer unchanged): {error}"
            ) from error
        self.built_models += len(good)
        return {by_id[uid].fingerprint for uid in good}

    def _drop_partial(self, con: duckdb.DuckDBPyConnection, models: Sequence[ModelVersion]) -> None:
        """Drop what a failed build left of ``models`` (a retry builds them from scratch)."""
        present = state.existing_relations(con, PHYSICAL_SCHEMA)
        for m in models:
            for name in (m.physical_name, f"{m.physical_name}__dbt_tmp"):
                if name in present:
                    layer.drop_relation(con, PHYSICAL_SCHEMA, name)

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None:
        """Point every published view at the release's physical relations, in one transaction (custom
        schemas included); a retired dbt project unpublishes it."""
        db = self.database(env)
        for artifact in artifacts:
            with self.connect(db) as con:
                state.ensure(con)
                plan = state.load_plan(con, artifact.digest)
                if plan is None:
                    raise WarehouseDeployError(
                        f"dbt project {artifact.digest[:12]} was never prepared in {db}: "
                        "nothing to publish"
                    )
                older = refresher.older_tables(con, plan)
                layer.publish(con, plan, manifest.release_id, str(db))
            path = refresher.queue_file(self.warehouse_dir, str(env))
            if older:
                stamp = state.now().isoformat(timespec="seconds")
                refresher.queue(path, manifest.release_id, older, stamp)
            elif (refresher.read_queue(path) or {}).get("state") == "queued":
                path.unlink(missing_ok=True)  # nothing of this release is older than before
        if retired and not artifacts and db.exists():
            with self.connect(db) as con:
                layer.unpublish(con)

    def after_live(self, env: Environment, manifest: ReleaseManifest) -> None:
        """Once the operation is live: start the background refresh its switch queued, if any."""
        if self.background_refresh:
            path = refresher.queue_file(self.warehouse_dir, str(env))
            if refresher.start(path, self.warehouse_dir, self.projects_dir, str(env)):
                self.log.info("refreshing in the background", environment=str(env))

    def refresh_status(self, env: Environment) -> dict[str, Any] | None:
        """The last background refresh of ``env``: state, release, when, and per relation as of when."""
        return refresher.read_queue(refresher.queue_file(self.warehouse_dir, str(env)))

    def wait_for_refresh(self, env: Environment, timeout_s: float = 600.0) -> dict[str, Any] | None:
        """Block until ``env``'s background refresh (if any) has ended."""
        return refresher.wait(refresher.queue_file(self.warehouse_dir, str(env)), timeout_s)

    def refresh(self, env: Environment, names: Sequence[str] | None = None) -> list[str]:
        """Recompute the published release's table models from current sources, in place
        (:func:`finsight_release.targets.refresher.refresh_published`); the names refreshed."""
        return refresher.refresh_published(self, env, names)

    def connect(self, db: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A connection to ``db``, waiting up to ``lock_timeout_s`` while another process holds its lock."""
        return self.wait_for_lock(db, lambda: duckdb.connect(str(db), read_only=read_only))

    def wait_for_lock(self, db: Path, attempt: Callable[[], T]) -> T:
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
        """The published layer serves this version and every published view resolves."""
        problems = []
        for artifact in artifacts:
            with self.connect(self.database(env), read_only=True) as con:
                live = state.published(con).get("digest")
                if live != artifact.digest:
                    problems.append(
                        f"published layer serves {live and live[:12]}, expected {artifact.digest[:12]}"
                    )
                    continue
                for schema, view in sorted(state.published_views(con)):
                    try:
                        con.execute(f'select * from "{schema}"."{view}" limit 0')
                    except duckdb.Error as exc:
                        problems.append(f"{schema}.{view} does not resolve: {exc}")
        return problems

    def published(self, env: Environment) -> dict[str, str]:
        """What ``env``'s published layer serves: ``digest``, ``release``, ``published_at`` (empty when
        nothing is published)."""
        db = self.database(env)
        if not db.exists():
            return {}
        with self.connect(db, read_only=True) as con:
            return state.published(con)

    def _ensure_raw_data(self, db: Path) -> None:
        from finsight_release.reference.synthetic import generate_warehouse

        db.parent.mkdir(parents=True, exist_ok=True)
        with self.connect(db) as con:
            has_raw = con.execute(
                "select count(*) from information_schema.schemata where schema_name = 'raw'"
            ).fetchone()
        if not has_raw or not has_raw[0]:
            self.wait_for_lock(db, lambda: generate_warehouse(db, scale=self.seed_scale))

    def _project(self, artifact: Artifact, repo: ReleaseRepository) -> Path:
        return project_copy(self.projects_dir, artifact, repo)
