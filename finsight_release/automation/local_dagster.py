"""A Dagster webserver and daemon on loopback, for tests, the end-to-end benchmark and by hand.

``LocalDagster(home, env)`` starts ``dagster-webserver`` (GraphQL on 127.0.0.1) and ``dagster-daemon``
(sensors, schedules, the run queue) from this project's virtualenv on ``workspace.yaml``, with their
own ``DAGSTER_HOME``; leaving the context stops both (and their code servers) cleanly.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

import dagster as dg

from finsight_release.errors import DagsterStartError
from finsight_release.settings import REPO_ROOT

READY_TIMEOUT_S = 180.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalDagster:
    """A webserver and a daemon sharing one ``DAGSTER_HOME``; use as a context manager."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.env = {**os.environ, **(env or {}), "DAGSTER_HOME": str(home)}
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LocalDagster":
        self.home.mkdir(parents=True, exist_ok=True)
        # Runs launch as soon as they are submitted (no queue to wait on); the daemon runs sensors.
        (self.home / "dagster.yaml").write_text(
            "telemetry:\n  enabled: false\n"
            "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
        )
        # Create the instance's storages once, here: a webserver and a daemon migrating one fresh
        # SQLite database at the same time can fail ("table alembic_version already exists").
        instance = dg.DagsterInstance.from_config(str(self.home))
        try:
            instance.run_storage, instance.event_log_storage, instance.schedule_storage  # noqa: B018
        finally:
            instance.dispose()
        bin_dir = Path(sys.executable).parent
        workspace = str(REPO_ROOT / "workspace.yaml")
        for argv in (
            [
                str(bin_dir / "dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-w",
                workspace,
            ],
            [str(bin_dir / "dagster-daemon"), "run", "-w", workspace],
        ):
            log = (self.home / f"{Path(argv[0]).name}.log").open("wb")
            self.procs.append(
                subprocess.Popen(
                    argv,
                    cwd=REPO_ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # stopping the group stops their code servers too
                )
            )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            for name, proc in zip(("dagster-webserver", "dagster-daemon"), self.procs, strict=True):
                if proc.poll() is not None:
                    log = self.home / f"{name}.log"
                    raise DagsterStartError(f"{name} exited with {proc.returncode} (see {log})")
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise DagsterStartError(
            f"dagster-webserver not ready on {self.url} in {READY_TIMEOUT_S:.0f}s"
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
