"""A real PostgreSQL (Debian's binaries) on 127.0.0.1 for the duration of a test session."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from tests.conftest import free_port


def pg_bin() -> str | None:
    """Directory of Debian's PostgreSQL server binaries, newest first, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return os.path.dirname(found[0]) if found else None


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI and sessions here run as root.
    return [_runuser(), "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _runuser() -> str:
    """util-linux's runuser, which lives in /usr/sbin: a PATH without the sbin folders (a user's,
    not root's login PATH) must not hide it."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = shutil.which("runuser", path=search)
    if found is None:
        raise RuntimeError("runuser (util-linux) not found: needed to run PostgreSQL as root")
    return found


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh database on a throwaway PostgreSQL server; the server stops afterwards."""
    bindir = pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (scripts/setup.sh installs them)")
    root = tempfile.mkdtemp(prefix="finsight-pg-")
    data, sock = os.path.join(root, "data"), os.path.join(root, "sock")
    os.mkdir(sock)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()

    def run(*cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(_as_postgres(list(cmd)), check=True, capture_output=True, text=True)

    run(f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync")
    run(
        f"{bindir}/pg_ctl",
        "-D",
        data,
        "-w",
        "-l",
        os.path.join(root, "log"),
        "-o",
        f"-h 127.0.0.1 -p {port} -k {sock} -F",
        "start",
    )
    try:
        run(
            f"{bindir}/createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "finsight_audit",
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/finsight_audit"
    finally:
        subprocess.run(
            _as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
