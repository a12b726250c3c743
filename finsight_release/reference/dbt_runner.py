"""Run dbt (the real dbt-core CLI) against a DuckDB file, with isolated target and log paths.

dbt runs as a subprocess of this virtualenv's ``dbt``: each invocation gets a clean process (dbt's
adapters keep global state, and DuckDB allows one writer per file), and concurrent runs never share
``target/`` because every run gets its own target path.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from finsight_release import toolchain
from finsight_release.errors import DbtRunError


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
    proc = subprocess.run(
        args, capture_output=True, text=True, env=_env(duckdb_path, schema, target), cwd=project_dir
    )
    seconds = time.perf_counter() - start
    statuses = _statuses(target_path / "run_results.json")
    failed = sorted(n for n, s in statuses.items() if s in {"error", "fail", "runtime error"})
    if proc.returncode != 0 or failed:
        if failed:
            detail = f"failing nodes: {', '.join(failed[:8])}" + (" ..." if len(failed) > 8 else "")
        else:
            errors = [line.strip() for line in proc.stdout.splitlines() if "error" in line.lower()]
            detail = (
                errors[-1]
                if errors
                else (proc.stderr.strip().splitlines() or ["exit " + str(proc.returncode)])[-1]
            )
        raise DbtRunError(f"dbt {command[0]} of {project_dir} failed: {detail}")
    return DbtResult(True, statuses, seconds, target_path)


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
