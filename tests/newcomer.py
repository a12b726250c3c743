"""A newcomer's shell: the environment of someone who cloned the repository and ran setup, with no
virtualenv activated and nothing of the project's on PATH.

The whole test session runs with this PATH (``tests/conftest.py``), so code that finds a tool through
PATH instead of :mod:`finsight_release.toolchain` fails here as it would for a new user.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "finsight-release"
FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin"


def _project_owned(entry: str) -> bool:
    """A PATH entry inside the repository's virtualenvs, or the active virtualenv's ``bin``."""
    path = Path(entry).resolve() if entry else Path()
    roots = [REPO_ROOT / ".venv", REPO_ROOT / ".venvs", Path(sys.prefix)]
    if os.environ.get("VIRTUAL_ENV"):
        roots.append(Path(os.environ["VIRTUAL_ENV"]))
    return any(path == root.resolve() or root.resolve() in path.parents for root in roots)


def newcomer_path(path: str | None = None) -> str:
    """``path`` (default: this process's PATH) without the project's virtualenvs."""
    entries = [
        e for e in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep) if e
    ]
    kept = [e for e in entries if not _project_owned(e)]
    return os.pathsep.join(kept) or FALLBACK_PATH


def newcomer_env(**extra: str) -> dict[str, str]:
    """This process's environment as a newcomer's shell would have it, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONHOME"}}
    env["PATH"] = newcomer_path()
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``.venv/bin/finsight-release ARGS`` as a newcomer types it (full path, no virtualenv on PATH)."""
    return subprocess.run(
        [str(CLI), *args],
        env=env or newcomer_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
