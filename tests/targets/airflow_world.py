"""A real Airflow 2.10.5 on loopback reading dev's published dags folder, with a Deployer driving it.

One per test session (per xdist worker): starting Airflow costs ~15 s, so the tests share it and each
builds releases of its own (a distinct marker in a DAG file) on top of whatever dev runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from finsight_release.audit.log import AuditLog
from finsight_release.envs.environment import Environment
from finsight_release.envs.promotion import Deployer
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.targets.airflow_api import AirflowApi, AirflowEndpoint
from finsight_release.targets.local_airflow import LocalAirflow
from finsight_release.targets.self_managed import AirflowDeployPolicy, SelfManagedAirflowTarget
from tests.conftest import free_port
from tests.mini_platform import make_platform

DEV = Environment.DEV
DAGS_DIR = "release_assets/airflow/dags"
POLICY = AirflowDeployPolicy(inflight_wait_s=30, parse_timeout_s=90, poll_s=0.25)


def smoke_dag(marker: str, body: str = "") -> str:
    """A DAG file with one task that succeeds; ``marker`` makes each release's file distinct."""
    return (
        f'"""Airflow DAG smoke_ok ({marker})."""\n'
        "import pendulum\n"
        "from airflow import DAG\n"
        "from airflow.operators.python import PythonOperator\n"
        "from common.settings import OWNER\n"
        f"{body}\n"
        "with DAG('smoke_ok', start_date=pendulum.datetime(2024, 1, 1, tz='UTC'), schedule=None,\n"
        "         catchup=False, default_args={'owner': OWNER}, tags=['critical']):\n"
        f"    PythonOperator(task_id='check', python_callable=lambda: {marker!r})\n"
    )


STEADY = (
    '"""Airflow DAG steady: never changed by the tests."""\n'
    "import pendulum\n"
    "from airflow import DAG\n"
    "from airflow.operators.empty import EmptyOperator\n"
    "with DAG('steady', start_date=pendulum.datetime(2024, 1, 1, tz='UTC'), schedule=None):\n"
    "    EmptyOperator(task_id='noop')\n"
)


@dataclass
class AirflowWorld:
    """The running Airflow, dev's store and targets, and a Deployer acting through them."""

    root: Path
    airflow: LocalAirflow
    repo: ReleaseRepository
    audit: AuditLog
    target: SelfManagedAirflowTarget
    deployer: Deployer
    counter: int = 0

    @property
    def api(self) -> AirflowApi:
        return self.airflow.api

    def target_for(
        self, endpoint: AirflowEndpoint, policy: AirflowDeployPolicy = POLICY
    ) -> tuple[SelfManagedAirflowTarget, Deployer]:
        """Another target and Deployer on the same store and folder, talking to ``endpoint``."""
        target = SelfManagedAirflowTarget(
            self.root / "targets", frozenset({ArtifactKind.AIRFLOW_DAGS}), {DEV: endpoint}, policy
        )
        return target, Deployer(self.repo, [target], self.audit, "tester")

    def release(
        self, files: dict[str, str] | None = None, marker: str | None = None
    ) -> ReleaseManifest:
        """Build a release whose smoke_ok DAG carries a fresh marker (plus ``files`` under the dags dir)."""
        self.counter += 1
        marker = marker or f"m{self.counter}-{time.time_ns()}"
        tree = {f"{DAGS_DIR}/smoke_ok.py": smoke_dag(marker)}
        tree.update({f"{DAGS_DIR}/{k}": v for k, v in (files or {}).items()})
        platform = make_platform(self.root / "platforms" / marker, {**BASE_FILES, **tree})
        manifest, _ = self.repo.build(platform, "tester")
        return manifest

    def wait_dags(self, *dag_ids: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if set(dag_ids) <= {d["dag_id"] for d in self.api.dags()}:
                return
            time.sleep(0.5)
        raise AssertionError(f"Airflow never registered {dag_ids}")

    def wait_no_import_errors(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.target.import_problems(DEV, self.api):
                return
            time.sleep(0.5)
        raise AssertionError(f"import errors stay: {self.target.import_problems(DEV, self.api)}")


BASE_FILES = {
    f"{DAGS_DIR}/.airflowignore": "common/\n",
    f"{DAGS_DIR}/common/__init__.py": "",
    f"{DAGS_DIR}/common/settings.py": "OWNER = 'team-data'\n",
    f"{DAGS_DIR}/steady.py": STEADY,
}


def start_world(root: Path) -> AirflowWorld:
    """Publish a first bundle to dev, start Airflow on it, promote that release through the target."""
    repo = ReleaseRepository(LocalObjectStore(root / "store"))
    audit = AuditLog(f"sqlite:///{root / 'audit.db'}", anchor=repo.store)
    python = load_settings(home=root / "home").airflow_python
    kinds = frozenset({ArtifactKind.AIRFLOW_DAGS})
    seed = SelfManagedAirflowTarget(root / "targets", kinds)
    airflow = LocalAirflow(
        python, root / "airflow", seed.live_path(DEV, "airflow/dags"), free_port()
    )
    target = SelfManagedAirflowTarget(root / "targets", kinds, {DEV: airflow.endpoint}, POLICY)
    world = AirflowWorld(
        root, airflow, repo, audit, target, Deployer(repo, [target], audit, "tester")
    )
    first = world.release(marker="first")
    dags = first.artifact("airflow/dags")
    assert dags is not None
    seed.apply(DEV, first, [dags], repo)  # the folder Airflow starts on
    airflow.start()
    try:
        world.wait_dags("smoke_ok", "steady")
        world.deployer.promote(DEV, first.release_id)  # already live: only recorded
    except BaseException:
        airflow.stop()
        raise
    return world
