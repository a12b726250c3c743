"""dbt forked from a warm server: each invocation in a clean child with its own environment and
directory, failures reported as dbt reports them, and the executable whenever the server cannot serve."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb
import pytest

from finsight_release.errors import DbtRunError
from finsight_release.reference import dbt_forked
from finsight_release.reference.dbt_runner import run_dbt

PROJECT = {
    "dbt_project.yml": "name: tiny\nversion: '1.0.0'\nconfig-version: 2\nprofile: tiny\n",
    "profiles.yml": (
        "tiny:\n  target: duckdb\n  outputs:\n    duckdb:\n      type: duckdb\n"
        "      path: \"{{ env_var('FINSIGHT_DUCKDB_PATH') }}\"\n"
        "      schema: \"{{ env_var('FINSIGHT_DBT_SCHEMA') }}\"\n"
    ),
    "models/answer.sql": "select 42 as answer\n",
}


def tiny_project(root: Path, model: str | None = None) -> Path:
    for name, text in {**PROJECT, **({"models/answer.sql": model} if model else {})}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def answer(db: Path, schema: str) -> object:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(f"select answer from {schema}.answer").fetchone()
    return row[0] if row else None


def test_each_invocation_gets_its_own_environment_and_database(tmp_path: Path) -> None:
    assert dbt_forked.available()
    project = tiny_project(tmp_path / "project")
    first = run_dbt(["build"], project, tmp_path / "a.duckdb", "one", tmp_path / "t1")
    second = run_dbt(["build"], project, tmp_path / "b.duckdb", "two", tmp_path / "t2")
    assert first.statuses == second.statuses == {"model.tiny.answer": "success"}
    assert answer(tmp_path / "a.duckdb", "one") == 42 and answer(tmp_path / "b.duckdb", "two") == 42
    with duckdb.connect(str(tmp_path / "a.duckdb"), read_only=True) as con:
        schemas = {s for (s,) in con.execute("select schema_name from duckdb_schemas()").fetchall()}
    assert "two" not in schemas  # the second child knew nothing of the first's database


def test_a_failing_model_and_a_broken_project_are_reported_by_name(tmp_path: Path) -> None:
    bad_sql = tiny_project(tmp_path / "bad_sql", "select no_such_column from (select 1 as x)\n")
    with pytest.raises(DbtRunError, match=r"dbt build of .*bad_sql failed: failing nodes: model"):
        run_dbt(["build"], bad_sql, tmp_path / "c.duckdb", "main", tmp_path / "t3")
    broken = tiny_project(tmp_path / "broken")
    (broken / "dbt_project.yml").write_text("name: tiny\nprofile: [not, a, name]\n")
    with pytest.raises(DbtRunError, match=r"dbt parse of .*broken failed: .*\S"):
        run_dbt(["parse"], broken, target_path=tmp_path / "t4")


def test_a_busy_dead_or_idle_server_falls_back_or_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tiny_project(tmp_path / "project")
    out = tmp_path / "out.txt"
    env = {"FINSIGHT_DUCKDB_PATH": str(tmp_path / "d.duckdb"), "FINSIGHT_DBT_SCHEMA": "main"}
    args = ["parse", "--project-dir", str(project), "--profiles-dir", str(project)]
    args += ["--target-path", str(tmp_path / "t5")]
    with dbt_forked._lock:  # another thread of this process is using the server
        busy: list[int | None] = []
        caller = threading.Thread(
            target=lambda: busy.append(dbt_forked.run(args, env, project, out))
        )
        caller.start()
        caller.join()
    assert busy == [None]
    assert dbt_forked.run(args, env, project, out) == 0
    server = dbt_forked._server
    assert server is not None
    server.kill()  # killed between invocations: the next one starts a new server
    server.wait()
    assert dbt_forked.run(args, env, project, out) == 0 and dbt_forked._server is not server
    dbt_forked._stop_server()
    monkeypatch.setenv("FINSIGHT_DBT_SERVER_IDLE_S", "1")
    assert dbt_forked.run(args, env, project, out) == 0
    idle = dbt_forked._server
    assert idle is not None and idle.wait(timeout=60) == 0  # it ended on its own once idle
    assert dbt_forked.run(args, env, project, out) == 0 and dbt_forked._server is not idle
    dbt_forked._stop_server()
    monkeypatch.setenv("FINSIGHT_DBT", "/usr/bin/false")
    assert not dbt_forked.available()  # an explicit executable is run as a subprocess


def test_a_process_forked_from_a_client_starts_its_own_server(tmp_path: Path) -> None:
    project = tiny_project(tmp_path / "project")
    db = tmp_path / "e.duckdb"
    run_dbt(["parse"], project, db, "main", tmp_path / "t6")
    parent_server = dbt_forked._server
    assert parent_server is not None
    pid = os.fork()
    if pid == 0:  # the child: a server of its own, the parent's untouched
        ok = False  # bound before anything can raise: the child must never return into pytest
        try:
            run_dbt(["parse"], project, db, "main", tmp_path / "t7")
            ok = dbt_forked._server is not None and dbt_forked._server is not parent_server
            dbt_forked._stop_server()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert dbt_forked._server is parent_server and parent_server.poll() is None
    assert run_dbt(["parse"], project, db, "main", tmp_path / "t8").success
    with pytest.raises(
        DbtRunError, match=r"Encountered an error: Parsing Error .*FINSIGHT_DUCKDB_PATH"
    ):
        run_dbt(["parse"], project, target_path=tmp_path / "t9")  # the profile's env var unset
