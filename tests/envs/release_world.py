"""A FINSIGHT_HOME with two releases already prepared on both real targets, for real-process CLI tests.

The mini platform gets a two-model dbt project (seconds per ``dbt build``). ``make_world`` builds v1
and v2 (one DAG and one model changed), promotes v1 then v2 to dev and rolls back, so dev runs v1 and
both versions are staged in the folder target and built in the warehouse: a later promotion between
them costs switches only. Tests copy the home (``clone``) and act on the copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
from click.testing import CliRunner, Result

from finsight_release.cli import main
from finsight_release.envs.environment import Environment
from finsight_release.envs.pointer import EnvPointer, PointerBoard
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.system import ReleaseSystem
from finsight_release.targets.folder import FolderTarget
from finsight_release.targets.warehouse import PHYSICAL_SCHEMA, DuckDbWarehouseTarget
from tests.mini_platform import make_platform

DEV = Environment.DEV
DAGS = "airflow/dags"
DBT = "dbt/project"

MINI_DBT = {
    "dbt_project/dbt_project.yml": (
        'name: mini\nversion: "1.0.0"\nconfig-version: 2\nprofile: mini\nmodel-paths: ["models"]\n'
        "flags:\n  send_anonymous_usage_stats: false\n"
    ),
    "dbt_project/profiles.yml": (
        "mini:\n  target: duckdb\n  outputs:\n    duckdb:\n      type: duckdb\n"
        "      path: \"{{ env_var('FINSIGHT_DUCKDB_PATH') }}\"\n"
        "      schema: \"{{ env_var('FINSIGHT_DBT_SCHEMA') }}\"\n      threads: 1\n"
    ),
    "dbt_project/models/stg_accounts.sql": "select 1 as account_id\n",
    "dbt_project/models/fct_accounts.sql": "select account_id from {{ ref('stg_accounts') }}\n",
}
V2_CHANGES = {
    "release_assets/airflow/dags/ingest_core.py": "# dag one, v2\nDAG_ID = 'ingest_core'\n",
    "dbt_project/models/fct_accounts.sql": "select account_id, 2 as version from {{ ref('stg_accounts') }}\n",
}


def env_vars(home: Path, actor: str = "tester") -> dict[str, str]:
    """The environment a CLI process of this world runs with."""
    return {
        "FINSIGHT_HOME": str(home),
        "FINSIGHT_ACTOR": actor,
        "FINSIGHT_REQUIRE_VALIDATION": "",
        "FINSIGHT_METRICS_FILE": str(home / "metrics.jsonl"),
    }


@dataclass(frozen=True)
class World:
    """A prepared home and the two release ids in it."""

    home: Path
    v1: str
    v2: str

    def clone(self, dest: Path) -> World:
        """A copy of this world's state under ``dest`` (symlinks are relative, so they follow)."""
        shutil.copytree(self.home, dest, symlinks=True)
        return World(dest, self.v1, self.v2)

    def system(self, actor: str = "tester") -> ReleaseSystem:
        return ReleaseSystem(load_settings(home=self.home, actor=actor, require_validation=()))

    def pointer(self) -> EnvPointer:
        return PointerBoard(LocalObjectStore(self.home / "store")).read(DEV)[0]

    def cli(self, *args: str, actor: str = "tester") -> Result:
        """Run a command in this process (the next command after a crash)."""
        return CliRunner().invoke(main, list(args), env=env_vars(self.home, actor))

    def spawn(
        self, *args: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as its own process."""
        return subprocess.run(
            [sys.executable, "-m", "finsight_release.cli", *args],
            env={**os.environ, **env_vars(self.home), **(extra_env or {})},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def problems(self) -> list[str]:
        """Why dev is not on exactly one release everywhere (empty: converged).

        The pointer is settled, the dags-folder symlink serves the pointer's DAG bundle (files intact)
        and the published layer serves the pointer's dbt version, every view reading that version's
        physical relation of its model.
        """
        pointer = self.pointer()
        problems = [f"pointer still pending: {pointer.pending}"] if pointer.pending else []
        repo = ReleaseRepository(LocalObjectStore(self.home / "store"))
        manifest = repo.get(str(pointer.release_id))
        dags, dbt = manifest.artifact(DAGS), manifest.artifact(DBT)
        assert dags is not None and dbt is not None
        folder = FolderTarget(self.home / "targets", frozenset({ArtifactKind.AIRFLOW_DAGS}))
        problems += [f"folder: {p}" for p in folder.verify(DEV, manifest, [dags])]
        warehouse = DuckDbWarehouseTarget(self.home / "warehouse", self.home / "targets" / "dbt")
        problems += [f"warehouse: {p}" for p in warehouse.verify(DEV, manifest, [dbt])]
        plan = warehouse.plan(DEV, dbt, repo)
        with duckdb.connect(str(warehouse.database(DEV)), read_only=True) as con:
            views = dict(
                con.execute(
                    "select view_name, sql from duckdb_views() where schema_name = 'analytics'"
                ).fetchall()
            )
        for model in plan.relations:
            if model.physical_name not in views.get(model.published_name, ""):
                problems.append(
                    f"view {model.published_name} does not read {PHYSICAL_SCHEMA}.{model.physical_name}"
                )
        if not views:
            problems.append("analytics has no views")
        return problems


def make_world(root: Path) -> World:
    """Build v1 and v2 and prepare both on dev's targets (dev ends on v1, v2 its previous release)."""
    home = root / "home"
    p1 = make_platform(root / "p1", MINI_DBT)
    p2 = make_platform(root / "p2", {**MINI_DBT, **V2_CHANGES})
    system = World(home, "", "").system(actor="setup")
    v1, _ = system.build(p1)
    v2, _ = system.build(p2)
    system.deployer.promote(DEV, v1.release_id)
    system.deployer.promote(DEV, v2.release_id)
    system.deployer.rollback(DEV)
    world = World(home, v1.release_id, v2.release_id)
    assert world.pointer().release_id == v1.release_id and not world.problems()
    return world
