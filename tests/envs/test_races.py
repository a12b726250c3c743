"""Real processes racing on one environment: 8 promotes and rollbacks released at the same instant.

Each process imports the CLI, waits for a start file, then runs its command, so all of them read the
pointer within milliseconds of each other. Every round exactly one wins; the others exit non-zero
with a one-line "environment dev is busy" error; dev is never left pending and its pointer, dags
folder and warehouse agree. The loser's detection gate (a dbt change opens the DuckDB file) now runs
only after a claim it never gets, so the winner's dbt work never meets a loser's lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finsight_release.settings import REPO_ROOT
from tests.envs.release_world import World, env_vars, make_world

PROCESSES = 8
ROUNDS = 3

# Builds the release system (imports, settings, audit log) before waiting for the start file, so
# the race starts at the command itself; the command then runs through the CLI as usual.
DRIVER = """
import sys, time
from pathlib import Path
import finsight_release.cli as cli
import finsight_release.cli.releases as release_commands
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
system = ReleaseSystem(load_settings())
system.deployer
release_commands.open_system = lambda platform=None: system
go = Path(sys.argv[1])
Path(sys.argv[2]).touch()
while not go.exists():
    time.sleep(0.001)
cli.main(sys.argv[3:])
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("race-world"))


def race(
    world: World, commands: list[list[str]], gate: Path
) -> list[subprocess.CompletedProcess[str]]:
    """Start every command, wait until all are ready, release them together, collect the outcomes."""
    procs = []
    for i, args in enumerate(commands):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", DRIVER, str(gate / "go"), str(gate / f"ready-{i}"), *args],
                env={**os.environ, **env_vars(world.home, actor=f"racer-{i}")},
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + 120
    while len(list(gate.glob("ready-*"))) < len(commands) and time.monotonic() < deadline:
        time.sleep(0.01)
    (gate / "go").touch()
    results = []
    for i, proc in enumerate(procs):
        out, err = proc.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(commands[i], proc.returncode, out, err))
    return results


def test_concurrent_promotes_and_rollbacks_one_winner_per_round(
    world: World, tmp_path: Path
) -> None:
    for round_no in range(ROUNDS):
        current, previous = world.pointer().release_id, world.pointer().previous_release_id
        assert previous is not None
        # Half promote the previous release, half roll back to it: every command wants the same move.
        commands = [
            ["promote", "dev", previous] if i % 2 else ["rollback", "dev"] for i in range(PROCESSES)
        ]
        gate = tmp_path / f"round-{round_no}"
        gate.mkdir()
        results = race(world, commands, gate)
        winners = [r for r in results if r.returncode == 0]
        losers = [r for r in results if r.returncode != 0]
        assert len(winners) == 1, [(r.args, r.returncode, r.stdout, r.stderr) for r in results]
        for loser in losers:
            lines = loser.stderr.strip().splitlines()
            assert len(lines) == 1 and "environment dev is busy" in lines[0], loser.stderr
        pointer = world.pointer()
        assert (
            pointer.pending is None
            and pointer.release_id == previous
            and pointer.previous_release_id == current
        )
        assert world.problems() == []
    verified = world.cli("audit", "verify")
    assert verified.exit_code == 0, verified.output
    busy = [
        e
        for e in world.system().audit.events(environment="dev", action="refuse")
        if "busy" in str(e["details"])
    ]
    assert len(busy) == ROUNDS * (PROCESSES - 1)


def test_concurrent_takeovers_of_a_crashed_promotion_one_winner(
    world: World, tmp_path: Path
) -> None:
    """After a kill -9 between the two switches, 4 `resolve --abort` and 4 re-runs of the promotion race
    to take it over: the claim's owner is swapped by CAS, so exactly one runs; the others are refused."""
    case = world.clone(tmp_path / "home")
    target = case.pointer().previous_release_id
    assert target is not None
    crashed = case.spawn(
        "promote", "dev", target, extra_env={"FINSIGHT_FAULT_AT": "switched:warehouse"}
    )
    assert crashed.returncode == -9 and case.pointer().pending
    commands = [
        ["promote", "dev", target]
        if i % 2
        else ["resolve", "dev", "--abort", "--reason", f"racer {i}"]
        for i in range(PROCESSES)
    ]
    gate = tmp_path / "gate"
    gate.mkdir()
    results = race(case, commands, gate)
    winners = [r for r in results if r.returncode == 0]
    assert len(winners) == 1, [(r.args, r.returncode, r.stdout, r.stderr) for r in results]
    for loser in (r for r in results if r.returncode != 0):
        lines = loser.stderr.strip().splitlines()
        assert len(lines) == 1 and (
            "environment dev is busy" in lines[0] or "no in-flight" in lines[0]
        ), lines
    assert case.pointer().pending is None and case.problems() == []
    assert case.cli("audit", "verify").exit_code == 0
