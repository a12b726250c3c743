"""The self-managed Airflow target against a running Airflow 2.10.5 (``airflow_world``): pause, swap,
parse, import errors, registration, unpause; failures restored; bad input refused in one line."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from finsight_release.envs.environment import Environment
from finsight_release.errors import PromotionFailedError, TargetError
from finsight_release.release.artifact import Artifact, ArtifactFile, ArtifactKind
from finsight_release.targets.airflow_api import AirflowEndpoint
from finsight_release.targets.self_managed import (
    AirflowDeployPolicy,
    SelfManagedAirflowTarget,
    check_inside,
    endpoints_from_environ,
)
from tests.conftest import free_port
from tests.targets.airflow_world import DAGS_DIR, AirflowWorld

DEV = Environment.DEV
DAGS = "airflow/dags"


def live_release(world: AirflowWorld) -> str | None:
    return world.deployer.board.read(DEV)[0].release_id


def assert_untouched(world: AirflowWorld, release_id: str | None, live_digest: str | None) -> None:
    pointer = world.deployer.board.read(DEV)[0]
    assert pointer.release_id == release_id and pointer.pending is None
    assert world.target.live_digest(DEV, DAGS) == live_digest


def stop_between_transactions(pgid: int, database: Path) -> None:
    """SIGSTOP the process group at a moment it holds no lock on Airflow's SQLite database.

    Stopped inside a transaction, the scheduler would keep the database locked and every write the
    API makes (pausing a DAG) would time out: Airflow's API would not answer, which is another test.
    ``BEGIN EXCLUSIVE`` succeeds only when no other connection holds any lock.
    """
    for _ in range(50):
        os.killpg(pgid, signal.SIGSTOP)
        probe = sqlite3.connect(database, timeout=0.5, isolation_level=None)
        try:
            probe.execute("BEGIN EXCLUSIVE")
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:
            os.killpg(pgid, signal.SIGCONT)
            time.sleep(0.1)
        finally:
            probe.close()
    raise AssertionError(f"the scheduler held {database} locked at every one of 50 tries")


def test_deploy_pauses_swaps_verifies_and_unpauses(airflow_world: AirflowWorld) -> None:
    world, api = airflow_world, airflow_world.api
    api.set_paused("smoke_ok", False)  # a DAG the release changes, running before the deploy
    release = world.release()
    record = world.deployer.promote(DEV, release.release_id)
    assert record.state == "live"
    report = world.target.last_switch
    assert report is not None
    assert report.dag_files == ["smoke_ok.py"] and report.paused == ["smoke_ok"]
    assert "steady.py" not in report.dag_files  # an unchanged DAG is neither paused nor waited for
    dag = api.dag("smoke_ok")
    assert not dag["is_paused"] and world.target.recorded_paused(DEV) == []
    live = world.target.live_path(DEV, DAGS)
    assert api.dag_source(dag["file_token"]) == (live / "smoke_ok.py").read_text()
    assert dag["fileloc"] == str(live / "smoke_ok.py")
    assert not world.target.import_problems(DEV, api)


def test_a_changed_module_reparses_the_dag_files_importing_it(airflow_world: AirflowWorld) -> None:
    world = airflow_world
    release = world.release({"common/settings.py": "OWNER = 'team-platform'\n"})
    world.deployer.promote(DEV, release.release_id)
    report = world.target.last_switch
    assert report is not None and "common/settings.py" in report.changed_files
    assert "smoke_ok.py" in report.dag_files  # imports common.settings
    assert world.api.dag("smoke_ok")["owners"] == ["team-platform"]


def test_import_error_is_rolled_back_and_audited(airflow_world: AirflowWorld) -> None:
    """Broken on purpose: a DAG file that raises at import reaches Airflow; the deploy stops on
    ``airflow.import_errors``, the previous bundle is back and import-error free."""
    world = airflow_world
    before, digest = live_release(world), world.target.live_digest(DEV, DAGS)
    broken = world.release(
        {"smoke_ok.py": "import airflow  # dag\nraise ValueError('broken on purpose')\n"}
    )
    with pytest.raises(
        PromotionFailedError, match="airflow.import_errors: smoke_ok.py: ValueError"
    ):
        world.deployer.promote(DEV, broken.release_id)
    assert_untouched(world, before, digest)
    world.wait_no_import_errors()
    failed = world.audit.events(release_id=broken.release_id, action="fail")
    assert failed and "airflow.import_errors" in failed[-1]["details"]["error"]
    assert world.target.recorded_paused(DEV) == []


def test_unreachable_api_is_one_line_and_changes_nothing(airflow_world: AirflowWorld) -> None:
    world = airflow_world
    _, deployer = world.target_for(
        AirflowEndpoint(f"http://127.0.0.1:{free_port()}", "admin", "admin")
    )
    before, digest = live_release(world), world.target.live_digest(DEV, DAGS)
    release = world.release()
    with pytest.raises(PromotionFailedError, match="unreachable") as caught:
        deployer.promote(DEV, release.release_id)
    assert "\n" not in str(caught.value)
    assert_untouched(world, before, digest)


def test_refused_credentials_401_changes_nothing(airflow_world: AirflowWorld) -> None:
    world = airflow_world
    endpoint = world.airflow.endpoint
    _, deployer = world.target_for(AirflowEndpoint(endpoint.url, endpoint.username, "wrong"))
    before, digest = live_release(world), world.target.live_digest(DEV, DAGS)
    with pytest.raises(PromotionFailedError, match=r"refused the credentials.*401"):
        deployer.promote(DEV, world.release().release_id)
    assert_untouched(world, before, digest)


def test_forbidden_403_stops_before_the_swap(airflow_world: AirflowWorld) -> None:
    """A Viewer can read DAGs (the preflight passes) but not pause them: refused before the swap."""
    world, api = airflow_world, airflow_world.api
    api.request(
        "POST",
        "users",
        {
            "username": "viewer",
            "password": "viewer",
            "email": "viewer@example.com",
            "first_name": "v",
            "last_name": "v",
            "roles": [{"name": "Viewer"}],
        },
    )
    api.set_paused("smoke_ok", False)
    _, deployer = world.target_for(AirflowEndpoint(world.airflow.endpoint.url, "viewer", "viewer"))
    before, digest = live_release(world), world.target.live_digest(DEV, DAGS)
    with pytest.raises(PromotionFailedError, match=r"403 Forbidden"):
        deployer.promote(DEV, world.release().release_id)
    assert_untouched(world, before, digest)


def test_a_scheduler_that_never_parses_the_file_is_rolled_back(airflow_world: AirflowWorld) -> None:
    """The scheduler (and the DAG processor it runs) is stopped with SIGSTOP: the API still answers,
    nothing parses. The deploy stops on ``airflow.parse`` and the previous bundle is swapped back."""
    world = airflow_world
    impatient = AirflowDeployPolicy(inflight_wait_s=5, parse_timeout_s=3.0, poll_s=0.2)
    _, deployer = world.target_for(world.airflow.endpoint, impatient)
    before, digest = live_release(world), world.target.live_digest(DEV, DAGS)
    release = world.release()
    scheduler = world.airflow.processes["scheduler"].pid
    stop_between_transactions(scheduler, world.airflow.home / "airflow.db")
    try:
        with pytest.raises(
            PromotionFailedError,
            match=r"airflow.parse: the DAG processor did not parse smoke_ok.py within 3 s",
        ):
            deployer.promote(DEV, release.release_id)
    finally:
        os.killpg(scheduler, signal.SIGCONT)
    assert_untouched(world, before, digest)
    failed = world.audit.events(release_id=release.release_id, action="fail")
    assert failed and "airflow.parse" in failed[-1]["details"]["error"]


def test_an_unwritable_dags_folder_is_refused_before_anything_changes(
    airflow_world: AirflowWorld,
) -> None:
    world = airflow_world
    folder = world.target.live_path(DEV, DAGS).parent
    before, digest = live_release(world), world.target.live_digest(DEV, DAGS)
    release = world.release()
    # root ignores modes: the immutable attribute is what stops root from writing
    lock = ["chattr", "+i", str(folder)] if os.geteuid() == 0 else None
    if lock:
        subprocess.run(lock, check=True)
    else:
        os.chmod(folder, 0o555)
    try:
        with pytest.raises(PromotionFailedError, match="dags folder of dev is not writable"):
            world.deployer.promote(DEV, release.release_id)
    finally:
        if lock:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            os.chmod(folder, 0o755)
    assert_untouched(world, before, digest)


def test_in_flight_runs_past_the_limit_stop_the_deploy(airflow_world: AirflowWorld) -> None:
    world, api = airflow_world, airflow_world.api
    api.set_paused("smoke_ok", True)  # the run stays queued: the scheduler never starts it
    api.trigger("smoke_ok", f"inflight-{os.getpid()}")
    patient = AirflowDeployPolicy(inflight_wait_s=1.0, parse_timeout_s=60, poll_s=0.2)
    _, deployer = world.target_for(world.airflow.endpoint, patient)
    before, digest = live_release(world), world.target.live_digest(DEV, DAGS)
    try:
        with pytest.raises(
            PromotionFailedError, match=r"airflow.in_flight: 1 DAG run\(s\) still running"
        ):
            deployer.promote(DEV, world.release().release_id)
    finally:
        api.set_run_state("smoke_ok", f"inflight-{os.getpid()}", "failed")
    assert_untouched(world, before, digest)


def test_paths_escaping_the_target_are_refused(tmp_path: Path) -> None:
    for bad in ("../outside.py", "/etc/passwd", "a/../../b.py"):
        artifact = Artifact(
            kind=ArtifactKind.AIRFLOW_DAGS,
            name=DAGS,
            source=DAGS_DIR,
            digest="0" * 64,
            files=(ArtifactFile(path=bad, digest="1" * 64, size=1),),
        )
        with pytest.raises(TargetError, match="escapes the target folder"):
            check_inside(artifact)


def test_endpoints_come_from_the_environment() -> None:
    found = endpoints_from_environ(
        {
            "FINSIGHT_AIRFLOW_API_STAGING": "http://a:8080",
            "FINSIGHT_AIRFLOW_API_AUTH_STAGING": "u:p:q",
        }
    )
    assert list(found) == [Environment.STAGING]
    assert found[Environment.STAGING].password == "p:q" and "p:q" not in repr(
        found[Environment.STAGING]
    )
    target = SelfManagedAirflowTarget(Path("/nonexistent"), frozenset({ArtifactKind.AIRFLOW_DAGS}))
    assert target.api(DEV) is None  # no API: the plain folder switch
