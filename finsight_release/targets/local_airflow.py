"""A real Airflow 2.10.5 on loopback, for the tests, the demo and the benchmark.

Started from the project's Airflow virtualenv (``settings.airflow_python``): ``airflow db migrate``
(SQLite under ``home``), an admin user, then the webserver (stable REST API with basic auth, one
gunicorn worker) and the scheduler (SequentialExecutor, DAG processor inside it), each in its own
process group so :meth:`LocalAirflow.stop` ends both with everything they spawned.

DAG processor settings (:data:`PARSE_SETTINGS`), chosen so a deploy is seen in seconds without the
background re-parse eating the machine:

* ``file_parsing_sort_mode = modified_time``: a file whose mtime is newer than its last parse is
  queued first and re-parsed even inside ``min_file_process_interval``; the deploy touches the files
  it changes, so they are parsed next.
* ``min_file_process_interval = 60``: unchanged files are re-parsed once a minute (default 30 s),
  keeping the processor mostly idle on 2 cores.
* ``dag_dir_list_interval = 5``: new and removed files are noticed within 5 s (default 300 s).
* ``scheduler_idle_sleep_time = 0.2``: with SQLite the scheduler parses one file per loop, so its
  idle sleep (default 1 s) bounds the parse rate.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from finsight_release.errors import AirflowApiError, AirflowStartError
from finsight_release.targets.airflow_api import AirflowApi, AirflowEndpoint
from finsight_release.toolchain import interpreter

PARSE_SETTINGS = {
    "AIRFLOW__SCHEDULER__FILE_PARSING_SORT_MODE": "modified_time",
    "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "60",
    "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "5",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
}
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0


@dataclass
class LocalAirflow:
    """One Airflow (webserver + scheduler) on ``127.0.0.1:port`` reading ``dags_folder``."""

    python: Path
    home: Path
    dags_folder: Path
    port: int
    username: str = "admin"
    password: str = "admin"
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def endpoint(self) -> AirflowEndpoint:
        return AirflowEndpoint(f"http://127.0.0.1:{self.port}", self.username, self.password)

    @property
    def api(self) -> AirflowApi:
        return AirflowApi(self.endpoint)

    def env(self) -> dict[str, str]:
        """The environment of every Airflow process: this home, this dags folder, the settings above.

        The virtualenv's ``bin`` goes first on the children's PATH: the SequentialExecutor runs each
        task as ``airflow tasks run ...`` by name.
        """
        bin_dir = str(Path(self.python).parent)
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")},
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.home / "plugins"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
            "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.basic_auth",
            "AIRFLOW__WEBSERVER__WORKERS": "1",
            "AIRFLOW__WEBSERVER__SECRET_KEY": "finsight-local-airflow",
            "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            **PARSE_SETTINGS,
            **self.extra_env,
        }

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.python), "-m", "airflow", *args],
            env=self.env(),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise AirflowStartError(f"airflow {args[0]} {args[1]} failed: {tail[0]}")

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.home / f"{name}.out", "ab")  # noqa: SIM115 - the child owns it from here
        self.processes[name] = subprocess.Popen(
            [str(self.python), "-m", "airflow", *args],
            env=self.env(),
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends gunicorn and task runs too
        )
        log.close()

    def start(self, timeout_s: float = START_TIMEOUT_S) -> LocalAirflow:
        """Migrate the DB, create the user, start both processes, wait for a healthy scheduler."""
        interpreter(self.python, "Airflow", "FINSIGHT_AIRFLOW_PYTHON")
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "plugins").mkdir(exist_ok=True)
        self._run("db", "migrate")
        self._run(
            "users", "create", "--username", self.username, "--password", self.password,
            "--role", "Admin", "--firstname", "fin", "--lastname", "sight",
            "--email", f"{self.username}@example.com",
        )  # fmt: skip
        try:
            self._spawn(
                "webserver", "webserver", "--port", str(self.port), "--hostname", "127.0.0.1"
            )
            self._spawn("scheduler", "scheduler")
            self.wait_healthy(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout_s: float) -> None:
        """Until the webserver answers and reports the scheduler healthy; AirflowStartError otherwise."""
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise AirflowStartError(
                        f"airflow {name} exited with {proc.returncode} while starting "
                        f"(see {self.home / (name + '.out')})"
                    )
            try:
                health = self.api.health()
                if health.get("scheduler", {}).get("status") == "healthy":
                    self.api.check_access()
                    return
                last = f"scheduler {health.get('scheduler', {}).get('status')}"
            except AirflowApiError as exc:
                last = str(exc)
            time.sleep(0.5)
        raise AirflowStartError(
            f"Airflow on port {self.port} not healthy after {timeout_s:.0f} s: {last}"
        )

    def stop(self) -> None:
        """SIGTERM each process group, SIGKILL what is left after a grace period; idempotent."""
        for proc in self.processes.values():
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc.pid, signal.SIGKILL)  # stragglers of the group (gunicorn workers)
            proc.wait()
        self.processes.clear()

    def __enter__(self) -> LocalAirflow:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
