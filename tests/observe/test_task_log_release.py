"""A real Airflow 2.10 task run after a deploy names its release in its task log, and
``finsight-release logs RELEASE`` finds that log: the published marker, the plugin's listener and
the log search end to end (``airflow dags test`` creates the run, ``airflow tasks run --local`` runs
the task the way a worker does, writing the per-attempt log file)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsight_release.cli import main
from finsight_release.settings import REPO_ROOT
from tests.mini_platform import make_platform

DAG = """from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator

with DAG("hello", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, tags=["t"]):
    PythonOperator(task_id="say", python_callable=lambda: print("{text}"))
"""


def test_task_logs_of_runs_after_a_deploy_name_the_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = REPO_ROOT / ".venvs" / "airflow" / "bin" / "python"
    if not python.exists():
        pytest.skip("the Airflow virtualenv is not installed (scripts/setup.sh creates it)")
    home = tmp_path / "home"
    monkeypatch.setenv("FINSIGHT_HOME", str(home))
    monkeypatch.setenv("FINSIGHT_ACTOR", "alice")
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    cli = CliRunner()
    airflow_home = tmp_path / "airflow"
    dags = home / "targets" / "dev" / "current" / "airflow" / "dags"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "release_assets" / "airflow" / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }

    def airflow(*args: str) -> str:
        done = subprocess.run(
            [str(python), "-m", "airflow", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        return done.stdout

    airflow("db", "migrate")
    releases = []
    for n, day in ((1, "2024-01-02"), (2, "2024-01-03")):
        tree = make_platform(
            tmp_path / f"p{n}",
            {"release_assets/airflow/dags/hello.py": DAG.format(text=f"v{n}")},
            without="dbt_project",
        )
        built = cli.invoke(main, ["build", "--platform", str(tree)])
        releases.append(next(w for w in built.output.split() if w.startswith("r-")))
        promoted = cli.invoke(main, ["promote", "dev", releases[-1]])
        assert promoted.exit_code == 0, promoted.output
        run_id = f"manual__{day}T00:00:00+00:00"
        assert f"finsight_release_id={releases[-1]}" in airflow("dags", "test", "hello", day)
        airflow("tasks", "run", "--force", "--local", "hello", "say", run_id)

    logs = airflow_home / "logs"
    for n, release in enumerate(releases, start=1):
        result = cli.invoke(main, ["logs", release, "--airflow-logs", str(logs), "--json"])
        assert result.exit_code == 0, result.output
        found = [Path(p) for p in json.loads(result.output)["task_logs"]]
        assert len(found) == 1 and f"2024-01-0{n + 1}" in str(found[0]), found
        text = found[0].read_text()
        assert f"finsight_release_id={release} finsight_environment=dev" in text
        assert "finsight_operation_id=promote-dev-" in text
