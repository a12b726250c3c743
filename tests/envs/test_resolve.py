"""``finsight-release resolve ENV --abort|--resume --reason TEXT`` on crashed operations (real kill -9)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from finsight_release.cli import main
from finsight_release.envs.environment import Environment
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.system import ReleaseSystem
from tests.mini_platform import make_platform

DEV = Environment.DEV


class Home:
    """A FINSIGHT_HOME driven through the CLI, with a folder-only mini platform (no dbt: fast)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {
            "FINSIGHT_HOME": str(root / "home"),
            "FINSIGHT_ACTOR": "alice",
            "FINSIGHT_REQUIRE_VALIDATION": "",
        }

    def cli(self, *args: str, actor: str = "alice") -> Result:
        return CliRunner().invoke(main, list(args), env={**self.env, "FINSIGHT_ACTOR": actor})

    def crash(self, *args: str, at: str) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "finsight_release.cli", *args],
            env={**os.environ, **self.env, "FINSIGHT_FAULT_AT": at},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == -signal.SIGKILL, proc.stderr

    def build(self, name: str, dag_text: str) -> str:
        tree = make_platform(
            self.root / name,
            {"release_assets/airflow/dags/ingest_core.py": dag_text},
            without="dbt_project",
        )
        result = self.cli("build", "--platform", str(tree))
        assert result.exit_code == 0, result.output
        match = re.search(r"r-[0-9a-f]+", result.output)
        assert match, result.output
        return match.group(0)

    def system(self) -> ReleaseSystem:
        return ReleaseSystem(load_settings(home=self.root / "home", require_validation=()))

    def live_dag(self) -> str:
        return (self.system().airflow_dags_folder(DEV) / "ingest_core.py").read_text()


@pytest.fixture
def home(tmp_path: Path) -> tuple[Home, str, str]:
    h = Home(tmp_path)
    v1, v2 = h.build("p1", "# v1\n"), h.build("p2", "# v2\n")
    assert h.cli("promote", "dev", v1).exit_code == 0
    return h, v1, v2


def test_abort_after_a_crash_between_switches(home: tuple[Home, str, str]) -> None:
    h, v1, v2 = home
    h.crash("promote", "dev", v2, at="switch.done:folder")  # the dags folder already serves v2
    assert h.live_dag() == "# v2\n"
    v3 = h.build("p3", "# v3\n")
    busy = h.cli("promote", "dev", v3)
    assert (
        busy.exit_code != 0
        and "environment dev is busy" in busy.output
        and "resolve dev" in busy.output
    )
    assert "crashed" in busy.output and len(busy.output.strip().splitlines()) == 1
    assert str(h.system().board.read(DEV)[0].pending).startswith("promote-dev-")
    resolved = h.cli("resolve", "dev", "--abort", "--reason", "INC-9 crashed deploy", actor="bob")
    assert resolved.exit_code == 0, resolved.output
    assert f"dev runs {v1}" in " ".join(resolved.output.split())
    pointer = h.system().board.read(DEV)[0]
    assert pointer.release_id == v1 and pointer.pending is None and h.live_dag() == "# v1\n"
    events = h.system().audit.events(environment="dev")
    resolve_event = next(e for e in events if e["action"] == "resolve")
    assert (
        resolve_event["actor"] == "bob"
        and resolve_event["details"]["reason"] == "INC-9 crashed deploy"
    )
    assert (
        resolve_event["details"]["decision"] == "abort"
        and resolve_event["details"]["state"] == "switching"
    )
    assert (events[0]["action"], events[0]["outcome"], events[0]["release_id"]) == (
        "rollback",
        "ok",
        v1,
    )
    assert events[0]["details"]["aborted_release"] == v2
    assert h.cli("audit", "verify").exit_code == 0
    assert h.cli("promote", "dev", v3).exit_code == 0  # the environment is usable again


def test_resume_finishes_a_crashed_promotion(home: tuple[Home, str, str]) -> None:
    h, _, v2 = home
    h.crash("promote", "dev", v2, at="state:verifying")
    resumed = h.cli("resolve", "dev", "--resume", "--reason", "finish it", actor="bob")
    assert resumed.exit_code == 0, resumed.output
    pointer = h.system().board.read(DEV)[0]
    assert pointer.release_id == v2 and pointer.pending is None and h.live_dag() == "# v2\n"
    ok = h.system().audit.events(environment="dev", action="promote")[0]
    assert (ok["outcome"], ok["actor"], ok["release_id"]) == ("ok", "bob", v2)


def test_rollback_takes_over_a_crashed_promotion(home: tuple[Home, str, str]) -> None:
    h, v1, v2 = home
    h.crash("promote", "dev", v2, at="switched:folder")
    rolled = h.cli("rollback", "dev")
    assert rolled.exit_code == 0, rolled.output
    assert f"back on {v1}" in " ".join(rolled.output.split()) and h.live_dag() == "# v1\n"
    assert h.system().board.read(DEV)[0].pending is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["resolve", "dev", "--abort", "--reason", "x"], "no in-flight operation to resolve"),
        (["resolve", "dev", "--reason", "x"], "give --abort"),
        (["resolve", "dev", "--abort"], "Missing option '--reason'"),
        (["resolve", "dev", "--abort", "--reason", "  "], "a --reason is required"),
        (["resolve", "qa", "--abort", "--reason", "x"], "unknown environment 'qa'"),
    ],
)
def test_bad_resolve_is_one_line_and_changes_nothing(
    home: tuple[Home, str, str], args: list[str], message: str
) -> None:
    h, v1, _ = home
    result = h.cli(*args)
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
    assert h.system().board.read(DEV)[0].release_id == v1


def test_resolve_refuses_while_the_owner_still_runs(
    home: tuple[Home, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    h, v1, v2 = home
    system = h.system()
    folder = system.folder_target
    monkeypatch.setattr(folder, "switch", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(
        KeyboardInterrupt
    ):  # crashes in this process, which lives on: the owner is alive
        system.deployer.promote(DEV, v2)
    refused = h.cli("resolve", "dev", "--abort", "--reason", "x")
    assert refused.exit_code != 0 and "busy" in refused.output and "still" not in refused.output
    assert "stop that process first" in refused.output
    assert system.board.read(DEV)[0].pending and h.live_dag() == "# v1\n"
