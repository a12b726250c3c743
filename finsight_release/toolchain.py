"""The external programs the checks and targets drive, found the same way whatever PATH holds.

A newcomer's shell has no virtualenv on PATH, so nothing here asks PATH first. Each tool is looked up
in a fixed order: an explicit setting (``FINSIGHT_<TOOL>`` / ``JAVA_HOME``), the copy this project
installed (the running interpreter's own environment, which ``scripts/setup.sh`` fills), and only
then PATH and the system's standard locations. A tool that is nowhere raises
:class:`~finsight_release.errors.ToolNotFoundError` naming it and how to get it.

The Airflow and Spark interpreters are settings (``FINSIGHT_AIRFLOW_PYTHON``,
``FINSIGHT_SPARK_PYTHON``) with defaults inside the repository, so they never depend on PATH either.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from finsight_release.errors import ToolNotFoundError

SETUP_HINT = "run scripts/setup.sh"


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _own_bin(name: str) -> Path | None:
    """``name`` in this interpreter's environment (``.venv/bin``), found without PATH or a resolved symlink."""
    candidate = Path(sys.executable).parent / name
    return candidate if _executable(candidate) else None


def uv() -> Path:
    """The uv executable: ``$FINSIGHT_UV``, the one shipped with this environment's ``uv`` package, then PATH."""
    explicit = os.environ.get("FINSIGHT_UV")
    if explicit:
        if _executable(Path(explicit)):
            return Path(explicit)
        raise ToolNotFoundError(f"FINSIGHT_UV={explicit} is not an executable file")
    try:
        from uv import find_uv_bin

        return Path(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = _own_bin("uv") or shutil.which("uv")
    if found is None:
        raise ToolNotFoundError(f"uv not found ({SETUP_HINT} installs it into .venv)")
    return Path(found)


def dbt() -> Path:
    """The ``dbt`` executable: ``$FINSIGHT_DBT``, the one next to this interpreter (``.venv/bin``), then PATH."""
    explicit = os.environ.get("FINSIGHT_DBT")
    if explicit:
        if _executable(Path(explicit)):
            return Path(explicit)
        raise ToolNotFoundError(f"FINSIGHT_DBT={explicit} is not an executable file")
    found = _own_bin("dbt") or shutil.which("dbt")
    if found is None:
        raise ToolNotFoundError(f"dbt not found ({SETUP_HINT} installs dbt-core into .venv)")
    return Path(found)


JAVA_LOCATIONS = ("/usr/lib/jvm/default-java/bin/java", "/usr/lib/jvm/*/bin/java")


def java(environ: Mapping[str, str] | None = None) -> Path | None:
    """The java PySpark would launch, or None.

    ``$JAVA_HOME/bin/java`` when JAVA_HOME is set (and only that: a JAVA_HOME without java means no
    Java, as for Spark itself), else ``java`` on PATH, else Debian's standard JVM locations.
    """
    environ = os.environ if environ is None else environ
    home = environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return candidate if _executable(candidate) else None
    found = shutil.which("java", path=environ.get("PATH", ""))
    if found:
        return Path(found)
    for pattern in JAVA_LOCATIONS:
        for match in sorted(glob.glob(pattern)):
            if _executable(Path(match)):
                return Path(match)
    return None


def interpreter(path: Path, what: str, setting: str) -> Path:
    """``path`` when it is an executable interpreter, else a ToolNotFoundError naming the setting to fix."""
    if _executable(path):
        return path
    raise ToolNotFoundError(f"{what} interpreter {path} not found ({SETUP_HINT}, or set {setting})")


CHROMIUM_LOCATIONS = (
    "/usr/bin/chromium",
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium-browser",
)


def chromium() -> Path:
    """Headless Chromium (reports are checked in it): ``$FINSIGHT_CHROMIUM``, Debian's ``chromium``
    package locations (``scripts/setup.sh`` installs it), then PATH."""
    explicit = os.environ.get("FINSIGHT_CHROMIUM")
    if explicit:
        if _executable(Path(explicit)):
            return Path(explicit)
        raise ToolNotFoundError(f"FINSIGHT_CHROMIUM={explicit} is not an executable file")
    for location in CHROMIUM_LOCATIONS:
        if _executable(Path(location)):
            return Path(location)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise ToolNotFoundError(
            f"chromium not found ({SETUP_HINT} installs Debian's chromium package)"
        )
    return Path(found)
