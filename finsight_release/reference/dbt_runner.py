"""Run dbt (the real dbt-core CLI) against a DuckDB file, with isolated target and log paths.

Each invocation gets a clean process (dbt's adapters keep global state, and DuckDB allows one writer per
file): a child forked from a server that imported dbt once (:mod:`finsight_release.reference.dbt_forked`),
or this virtualenv's ``dbt`` as a subprocess when dbt is not importable here. Concurrent runs never
share ``target/`` because every run gets its own target path.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from finsight_release import toolchain
from finsight_release.errors import DbtRunError
from finsight_release.reference import dbt_forked


@dataclass(frozen=True)
class DbtResult:
    """Outcome of a dbt invocation: per-node statuses and elapsed seconds."""

    success: bool
    statuses: dict[str, str]
    seconds: float
    target_path: Path


def dbt_executable() -> str:
    """The ``dbt`` executable (:func:`finsight_release.toolchain.dbt`), as a string for subprocess and dagster-dbt."""
    return str(toolchain.dbt())


def _env(duckdb_path: Path | None, schema: str | None, target: str) -> dict[str, str]:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "FINSIGHT_DBT_TARGET": target}
    if duckdb_path is not None:
        env["FINSIGHT_DUCKDB_PATH"] = str(duckdb_path)
    if schema is not None:
        env["FINSIGHT_DBT_SCHEMA"] = schema
    return env


def run_dbt(
    command: list[str],
    project_dir: Path,
    duckdb_path: Path | None = None,
    schema: str | None = None,
    target_path: Path | None = None,
    target: str = "duckdb",
) -> DbtResult:
    """Run ``dbt <command>`` for ``project_dir``; raises DbtRunError naming the failures."""
    project_dir = Path(project_dir).resolve()
    target_path = target_path or Path(tempfile.mkdtemp(prefix="finsight-dbt-"))
    args = [
        dbt_executable(),
        *command,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
        "--no-use-colors",
    ]
    start = time.perf_counter()
    returncode, stdout, stderr = _execute(args, _env(duckdb_path, schema, target), project_dir)
    seconds = time.perf_counter() - start
    statuses = _statuses(target_path / "run_results.json")
    failed = sorted(n for n, s in statuses.items() if s in {"error", "fail", "runtime error"})
    if returncode != 0 or failed:
        if failed:
            detail = f"failing nodes: {', '.join(failed[:8])}" + (" ..." if len(failed) > 8 else "")
        else:
            detail = (
                _error_line(stdout)
                or (stderr.strip().splitlines() or ["exit " + str(returncode)])[-1]
            )
        raise DbtRunError(f"dbt {command[0]} of {project_dir} failed: {detail}")
    return DbtResult(True, statuses, seconds, target_path)


def _error_line(output: str) -> str:
    """dbt's last error in ``output`` on one line: an ``Encountered an error:`` header joined with
    the lines that say what it is (``Parsing Error`` and its reason), else the last line naming an
    error."""
    # dbt logs each line with a time prefix.
    lines = [
        re.sub(r"^(\x1b\[0m)?\d\d:\d\d:\d\d\s*", "", line.strip()) for line in output.splitlines()
    ]
    headers = [i for i, line in enumerate(lines) if line.lower().startswith("encountered an error")]
    if headers:
        following = [line for line in lines[headers[-1] + 1 :] if line][:3]
        return " ".join([lines[headers[-1]], *following])
    marked = [line for line in lines if "error" in line.lower()]
    return marked[-1] if marked else ""


def _execute(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run the dbt command line ``args``: forked from a server with dbt imported when this
    interpreter has dbt and the server is free (:mod:`~finsight_release.reference.dbt_forked`), else
    as a subprocess; exit code, stdout and stderr."""
    if dbt_forked.available():
        fd, name = tempfile.mkstemp(prefix="finsight-dbt-", suffix=".out")
        os.close(fd)
        output = Path(name)
        try:
            code = dbt_forked.run(args[1:], env, cwd, output)
            text = output.read_text(errors="replace")
        finally:
            output.unlink(missing_ok=True)
        if code is not None:
            return code, text, text
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def _statuses(run_results: Path) -> dict[str, str]:
    if not run_results.exists():
        return {}
    results = json.loads(run_results.read_text()).get("results", [])
    return {r["unique_id"]: str(r["status"]) for r in results}


def dbt_build(
    project_dir: Path, duckdb_path: Path, schema: str = "analytics", select: str | None = None
) -> DbtResult:
    """``dbt build`` (models + tests) into ``schema`` of ``duckdb_path``."""
    command = ["build"] + (["--select", select] if select else [])
    return run_dbt(command, project_dir, duckdb_path, schema)


def dbt_parse(project_dir: Path, target_path: Path) -> DbtResult:
    """``dbt parse``: writes ``manifest.json`` into ``target_path``."""
    return run_dbt(["parse"], project_dir, target_path=target_path)
