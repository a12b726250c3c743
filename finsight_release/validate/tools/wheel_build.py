"""Build Python packages' wheels with the build backend each ``pyproject.toml`` declares (PEP 517/518).

Projects are grouped by build system (requires, backend, backend-path). Each group gets one
throwaway build environment (``uv venv`` + ``uv pip install <requires>``, as an isolated frontend
build would) and one probe process that builds all of the group's wheels
(``probes/wheel_build_probe.py``: the backend imported once, each build in a forked child). That costs
one interpreter start per group instead of two per project, which is most of a small build's time.
The caller passes copies of the sources: a setuptools build writes ``build/`` and ``*.egg-info``
beside them.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finsight_release.validate.tools.uv import run_uv, uv_explanation

PROBE = Path(__file__).parent / "probes" / "wheel_build_probe.py"
PROBE_START_S = 60.0
PROBE_PER_PROJECT_S = 60.0


@dataclass(frozen=True)
class BuildSystem:
    """A pyproject's ``[build-system]``: what the build environment holds and which backend builds."""

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] = ()

    @classmethod
    def from_pyproject(cls, data: Mapping[str, Any]) -> BuildSystem:
        """The declared build system, or PEP 517's setuptools fallback when the table is absent.

        Raises ValueError for a table that declares none of the keys correctly.
        """
        table = data.get("build-system")
        if table is None:
            return LEGACY_SETUPTOOLS
        if not isinstance(table, dict):
            raise ValueError("[build-system] must be a table")
        requires = table.get("requires")
        if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
            raise ValueError(
                "[build-system] requires must be a list of requirement strings (PEP 518)"
            )
        backend = table.get("build-backend", LEGACY_SETUPTOOLS.backend)
        backend_path = table.get("backend-path", [])
        if not isinstance(backend, str) or not isinstance(backend_path, list):
            raise ValueError(
                "[build-system] build-backend must be a string and backend-path a list"
            )
        return cls(tuple(requires), backend, tuple(str(p) for p in backend_path))


LEGACY_SETUPTOOLS = BuildSystem(("setuptools>=40.8.0",), "setuptools.build_meta:__legacy__")


@dataclass(frozen=True)
class BuildOutcome:
    """One project's build: the wheel, or the backend's last error line and the tail of its output."""

    wheel: Path | None = None
    error: str | None = None
    log: str = ""


def build_wheels(
    projects: Mapping[str, tuple[Path, BuildSystem]], work: Path, python: Path, workers: int = 2
) -> dict[str, BuildOutcome]:
    """Build a wheel for each ``name -> (source dir, build system)`` under ``work``.

    Args:
        projects: the projects to build (their source directories are built in place: pass copies).
        work: an empty scratch directory (build environments, wheels, logs).
        python: the interpreter build environments are created from.
        workers: builds run at the same time within a group.

    Returns:
        ``name -> BuildOutcome`` for every project.
    """
    groups: dict[BuildSystem, list[str]] = {}
    for name, (_source, system) in projects.items():
        groups.setdefault(system, []).append(name)
    outcomes: dict[str, BuildOutcome] = {}
    for index, (system, names) in enumerate(groups.items()):
        env = work / f"build-env-{index}"
        problem = _create_env(env, python, list(system.requires))
        if problem is not None:
            outcomes.update(
                {
                    n: BuildOutcome(error=f"build requirements did not install: {problem}")
                    for n in names
                }
            )
            continue
        jobs = {n: projects[n][0] for n in names}
        report = _run_probe(env, system, jobs, work, workers)
        needs = sorted({r for n in names for r in report[n].get("needs", [])})
        if (
            needs
        ):  # requirements the backend asked for at build time: install them, build those again
            retry = {n: jobs[n] for n in names if "needs" in report[n]}
            problem = _install(env, needs)
            if problem is not None:
                report.update(
                    {n: {"error": f"build requirements did not install: {problem}"} for n in retry}
                )
            else:
                report.update(_run_probe(env, system, retry, work, workers))
        for name in names:
            outcomes[name] = _outcome(report[name])
    return outcomes


def _outcome(result: Mapping[str, Any]) -> BuildOutcome:
    if "wheel" in result:
        return BuildOutcome(wheel=Path(result["wheel"]))
    if "needs" in result:
        return BuildOutcome(error=f"the build backend still needs {', '.join(result['needs'])}")
    return BuildOutcome(
        error=str(result.get("error") or "build failed"), log=str(result.get("log") or "")
    )


def _env_python(env: Path) -> Path:
    return env / "bin" / "python"


def _create_env(env: Path, python: Path, requires: list[str]) -> str | None:
    """Create the build environment; None on success, else uv's explanation."""
    proc = run_uv(["venv", "-q", "--no-project", "-p", str(python), str(env)])
    if proc.returncode != 0:
        return uv_explanation(proc.stderr)
    return _install(env, requires) if requires else None


def _install(env: Path, requirements: list[str]) -> str | None:
    proc = run_uv(["pip", "install", "-q", "-p", str(_env_python(env)), *requirements])
    return None if proc.returncode == 0 else uv_explanation(proc.stderr)


def _run_probe(
    env: Path, system: BuildSystem, jobs: Mapping[str, Path], work: Path, workers: int
) -> dict[str, dict[str, Any]]:
    """Run the build probe for ``jobs`` (name -> source) and return its per-project results."""
    request_path, report_path = work / "build-request.json", work / "build-report.json"
    report_path.unlink(missing_ok=True)
    request = {
        "backend": system.backend,
        "backend_path": list(system.backend_path),
        "workers": workers,
        "jobs": [
            {
                "name": n,
                "source": str(src),
                "out": str(work / "wheels" / n),
                "log": str(work / f"build-{n}.log"),
            }
            for n, src in jobs.items()
        ],
    }
    request_path.write_text(json.dumps(request))
    # The build environment must see only itself: no PYTHONPATH from the caller's environment. Bytecode
    # stays on: the first builds cache the backend's modules as .pyc for the later ones (2x faster).
    env_vars = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE")
    }
    timeout = PROBE_START_S + PROBE_PER_PROJECT_S * len(jobs)
    try:
        proc = subprocess.run(
            [str(_env_python(env)), str(PROBE), str(request_path), str(report_path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env_vars,
            cwd=work,
            check=False,
        )
        failure = (
            None
            if proc.returncode == 0
            else (proc.stderr.strip().splitlines() or ["no output"])[-1]
        )
    except subprocess.TimeoutExpired:
        failure = f"the builds did not finish within {timeout:.0f}s"
    report: dict[str, dict[str, Any]] = {}
    if report_path.exists():
        report = json.loads(report_path.read_text())
    for name in jobs:
        report.setdefault(name, {"error": f"build probe failed: {failure or 'no result'}"})
    return report
