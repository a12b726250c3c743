"""kill -9 at every step of a promotion and a rollback, then the next command: dev always converges.

Each case copies a world where dev runs v1 and v2 is already prepared on both targets (warehouse and
dags folder), runs ``finsight-release promote dev v2`` (or ``rollback dev``) as a real process with
``FINSIGHT_FAULT_AT=<point>`` so it SIGKILLs itself there, then runs the next command: a re-run,
``resolve --resume``, ``resolve --abort`` or ``rollback``. Afterwards exactly one release is live on
every target (pointer, dags-folder symlink and ``analytics`` views agree), it is the release the
recovery should give, the audit chain verifies and its last deploy event names that release.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from finsight_release.settings import REPO_ROOT
from finsight_release.system import ReleaseSystem
from tests.envs.release_world import DEV, World, env_vars, make_world

# Every point a promotion between two prepared releases passes, in order (``state:switching`` is hit
# once, when the record enters switching; the per-target saves after it are the ``switched`` points).
SWITCH_POINTS = [
    "claimed",
    "state:preparing",
    "prepared:warehouse",
    "prepared:folder",
    "state:switching",
    "switch.begin:warehouse",
    "warehouse.publish",
    "switch.done:warehouse",
    "switched:warehouse",
    "switch.begin:folder",
    "folder.link:airflow/dags",
    "switch.done:folder",
    "switched:folder",
    "state:verifying",
    "audit.live",
    "pointer.swapped",
    "state:live",
]
# Points reached only when the new version is not prepared yet: the case removes it from the copy.
PREPARE_POINTS = ["folder.staged:airflow/dags", "warehouse.build:dbt/project"]
PROMOTE_POINTS = ["state:planned", *SWITCH_POINTS, *PREPARE_POINTS]
ROLLBACK_POINTS = ["state:planned", *SWITCH_POINTS]
RECOVERIES = ["rerun", "resume", "abort", "rollback"]
CASES = [("promote", p, RECOVERIES[i % 4]) for i, p in enumerate(PROMOTE_POINTS)] + [
    ("rollback", p, RECOVERIES[i % 3]) for i, p in enumerate(ROLLBACK_POINTS)
]
RESULTS: dict[str, list[bool]] = {"injected": [], "converged": []}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("fault-world"))


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the figure the README quotes (per xdist worker when the cases are spread)."""
    yield
    if RESULTS["injected"]:
        line = f"fault injection: {len(RESULTS['injected'])} points injected, {sum(RESULTS['converged'])} converged"
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\n" + line)  # noqa: T201 - shown even under output capture


def unprepare(world: World, point: str) -> None:
    """Remove v2's prepared version from the copy so the prepare phase does real work."""
    system = world.system()
    manifest = system.repo.get(world.v2)
    if point.startswith("folder.staged"):
        dags = manifest.artifact("airflow/dags")
        assert dags is not None
        import shutil

        shutil.rmtree(system.folder_target.version_dir(DEV, dags))
    else:
        dbt = manifest.artifact("dbt/project")
        assert dbt is not None
        with duckdb.connect(str(system.settings.warehouse_path / "dev.duckdb")) as con:
            con.execute("delete from _finsight.relations where built_for = ?", [world.v2])


def expected_release(world: World, kind: str, point: str, recovery: str) -> str:
    """Where dev must end: the operation finished (v2) or undone (v1), or, when the crash left nothing
    to resolve, what the pointer says followed by what the recovery command does on its own."""
    claimed = point != "state:planned"
    moved = point in {"pointer.swapped", "state:live"}
    if recovery == "rerun":
        return world.v2
    if not claimed:
        return (
            world.v2 if recovery == "rollback" else world.v1
        )  # a plain rollback from v1 goes to v2
    if moved:
        return (
            world.v1 if recovery == "rollback" else world.v2
        )  # resolve: nothing in flight, refused
    return world.v1 if recovery in {"abort", "rollback"} else world.v2


def recover(world: World, kind: str, recovery: str) -> tuple[int, str]:
    if recovery == "rerun":
        args = ["promote", "dev", world.v2] if kind == "promote" else ["rollback", "dev"]
    elif recovery == "rollback":
        args = ["rollback", "dev"]
    else:
        args = ["resolve", "dev", f"--{recovery}", "--reason", f"INC-7 {recovery} after crash"]
    result = world.cli(*args, actor="operator")
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("kind", "point", "recovery"), CASES, ids=[f"{k}-{p}-{r}" for k, p, r in CASES]
)
def test_kill_at_point_then_next_command_converges(
    world: World, tmp_path: Path, kind: str, point: str, recovery: str
) -> None:
    case = world.clone(tmp_path / "home")
    if point in PREPARE_POINTS:
        unprepare(case, point)
    args = ["promote", "dev", case.v2] if kind == "promote" else ["rollback", "dev"]
    killed = case.spawn(*args, extra_env={"FINSIGHT_FAULT_AT": point})
    assert killed.returncode == -signal.SIGKILL, (
        f"{point} never reached: {killed.stdout}{killed.stderr}"
    )
    RESULTS["injected"].append(True)

    code, output = recover(case, kind, recovery)
    nothing_in_flight = point in {"state:planned", "pointer.swapped", "state:live"}
    if recovery in {"resume", "abort"} and nothing_in_flight:
        assert code != 0 and "no in-flight operation" in output and "Traceback" not in output
    else:
        assert code == 0, output
    want = expected_release(case, kind, point, recovery)
    problems = case.problems()
    if case.pointer().release_id != want:
        problems.append(f"dev runs {case.pointer().release_id}, expected {want}")
    verified = case.cli("audit", "verify")
    if verified.exit_code != 0:
        problems.append(f"audit: {verified.output}")
    system: ReleaseSystem = case.system()
    deploys = [
        e for e in system.audit.events(environment="dev") if e["action"] in {"promote", "rollback"}
    ]
    if deploys[0]["outcome"] != "ok" or deploys[0]["release_id"] != want:
        problems.append(
            f"last deploy event {deploys[0]['action']} {deploys[0]['outcome']} {deploys[0]['release_id']}"
        )
    if recovery in {"resume", "abort"} and not nothing_in_flight:
        resolved = system.audit.events(environment="dev", action="resolve")
        if (
            not resolved
            or resolved[0]["actor"] != "operator"
            or "INC-7" not in resolved[0]["details"]["reason"]
        ):
            problems.append("no resolve event with the operator and reason")
    RESULTS["converged"].append(not problems)
    assert not problems, problems


def test_every_fault_point_in_the_code_is_injected() -> None:
    """A new fault_point() call without a case here fails: the list above stays complete."""
    source = "\n".join(p.read_text() for p in (REPO_ROOT / "finsight_release").rglob("*.py"))
    in_code = set(re.findall(r'fault_point\("([a-z._]+)"', source))
    injected = {point.split(":")[0] for _, point, _ in CASES}
    assert in_code and in_code <= injected, sorted(in_code - injected)


def children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def dbt_running(pid: int) -> bool:
    """Whether a dbt invocation runs under ``pid``: a child of its dbt server
    (:mod:`finsight_release.reference.dbt_forked`)."""
    for server in children(pid):
        try:
            command = Path(f"/proc/{server}/cmdline").read_bytes()
        except OSError:
            continue
        if b"dbt_forked" in command and children(server):
            return True
    return False


def test_kill_during_dbt_build_then_rerun_waits_for_the_orphan_and_finishes(
    world: World, tmp_path: Path
) -> None:
    """The colleague's incident: kill -9 of the CLI while dbt builds. Its orphaned dbt keeps the DuckDB
    lock until it ends; the re-run waits for the lock (bounded retry), rebuilds and goes live, and the
    DAG folder never served the new DAGs meanwhile."""
    case = world.clone(tmp_path / "home")
    unprepare(case, "warehouse.build")
    proc = subprocess.Popen(
        [sys.executable, "-m", "finsight_release.cli", "promote", "dev", case.v2],
        env={**os.environ, **env_vars(case.home)},
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    started = False
    while not started and time.monotonic() < deadline:
        started = dbt_running(proc.pid)
        time.sleep(0.05)
    assert started, "dbt never started"
    time.sleep(1.0)  # dbt is now connected to the warehouse
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    folder = case.system().folder_target
    dags = case.system().repo.get(case.v1).artifact("airflow/dags")
    assert dags and folder.live_digest(DEV, "airflow/dags") == dags.digest  # prepare never switches
    result = case.cli("promote", "dev", case.v2)
    assert result.exit_code == 0, result.output
    assert case.pointer().release_id == case.v2 and case.problems() == []
