"""Import and smoke-run Spark jobs in the runtime interpreter, all of them in one local-mode JVM.

One probe process (``probes/smoke_probe.py``) loops over the jobs: a JVM start costs seconds,
a small job on a sample well under one. The probe starts first and boots its JVM while the caller
builds the wheels, then gets the jobs (:class:`SmokeRunner`). The session is ``local[1]`` with one
shuffle partition, no UI and a small driver, so a run fits beside the other checks on a 2-core
machine; its scratch space (local dir, warehouse) stays in the caller's work directory. When the
runtime has a class-data archive (``spark-classes.jsa``, written by scripts/setup.sh) the JVM maps
Spark's classes from it instead of loading them, which halves the start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finsight_release import toolchain

PROBE = Path(__file__).parent / "probes" / "smoke_probe.py"
JOB_TIMEOUT_S = 120.0
PROBE_START_S = 90.0
# Set by the caller's shell for its own Spark; the runtime must use the pyspark it ships.
DROPPED_ENV = (
    "PYTHONPATH",
    "PYTHONHOME",
    "SPARK_HOME",
    "SPARK_CONF_DIR",
    "PYSPARK_SUBMIT_ARGS",
    "PYSPARK_DRIVER_PYTHON",
)


@dataclass(frozen=True)
class SmokeJob:
    """One job for the probe: where its overlay is, what to import, what to run it on."""

    name: str
    overlay: Path
    entry_point: str
    program: str
    input: Path | None
    output: Path
    output_format: str = "parquet"
    conf: dict[str, str] = field(default_factory=dict)

    def as_request(self) -> dict[str, Any]:
        """The job as the probe reads it."""
        return {
            "name": self.name,
            "overlay": str(self.overlay),
            "entry_point": self.entry_point,
            "program": self.program,
            "input": str(self.input) if self.input else None,
            "output": str(self.output),
            "output_format": self.output_format,
            "conf": self.conf,
        }


@dataclass
class JobOutcome:
    """What the probe reported for one job (None: that step was not reached)."""

    imported: bool | None = None
    import_error: str | None = None
    import_where: tuple[str, int] | None = None
    started: bool = False
    smoke_ok: bool | None = None
    smoke_error: str | None = None
    smoke_where: tuple[str, int] | None = None
    rows: int | None = None
    seconds: float = 0.0


@dataclass
class SmokeReport:
    """Per-job outcomes, plus why the session or the probe itself failed (when it did)."""

    jobs: dict[str, JobOutcome]
    session_error: str | None = None
    failure: str | None = None


def session_conf(work: Path) -> dict[str, str]:
    """The local session's settings: small and quiet, with its warehouse under ``work``."""
    return {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "1",
        "spark.default.parallelism": "1",
        "spark.driver.memory": "512m",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.warehouse.dir": str(work / "spark-warehouse"),
        "spark.sql.session.timeZone": "UTC",
        # Execution-only settings that halve the time of a query on a few rows; results are the same.
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.codegen.wholeStage": "false",
        # C1 only and the serial collector: a JVM that starts fast, for inputs of a few rows.
        "spark.driver.extraJavaOptions": f"-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dderby.system.home={work}",
    }


def _where(value: Any) -> tuple[str, int] | None:
    if isinstance(value, list) and len(value) == 2 and value[1] is not None:
        return str(value[0]), int(value[1])
    return None


def read_report(path: Path, names: list[str]) -> SmokeReport:
    """Parse the probe's JSON lines (a torn last line from a killed probe is ignored)."""
    report = SmokeReport(jobs={name: JobOutcome() for name in names})
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        outcome = report.jobs.get(record.get("name", ""))
        event = record.get("event")
        if event == "session":
            report.session_error = str(record.get("error") or "the SparkSession did not start")
        elif outcome is None:
            continue
        elif event == "import":
            outcome.imported = bool(record.get("ok"))
            outcome.import_error = record.get("error")
            outcome.import_where = _where(record.get("where"))
        elif event == "started":
            outcome.started = True
        elif event == "smoke":
            outcome.smoke_ok = bool(record.get("ok"))
            outcome.smoke_error = record.get("error")
            outcome.smoke_where = _where(record.get("where"))
            outcome.rows = record.get("rows")
            outcome.seconds = float(record.get("seconds") or 0.0)
    return report


class SmokeRunner:
    """One probe process, started early so the JVM boots while the caller builds wheels, then given the jobs.

    Use as a context manager: entering starts the probe (and, when ``smoke``, its SparkSession), :meth:`run`
    hands it the jobs and waits, leaving kills it (and its JVM) if it is still running.
    """

    def __init__(
        self, python: Path, work: Path, smoke: bool, class_archive: Path | None = None
    ) -> None:
        self.python, self.work, self.smoke, self.class_archive = python, work, smoke, class_archive
        self.report_path, self.log_path = work / "smoke-report.jsonl", work / "smoke.log"
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> SmokeRunner:
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        env.update(
            {
                "PYSPARK_PYTHON": str(self.python),
                "SPARK_LOCAL_IP": "127.0.0.1",
                "SPARK_LOCAL_DIRS": str(
                    self.work / "spark-local"
                ),  # shuffle and block files: scratch
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        java = toolchain.java(env)
        if java is not None and not env.get(
            "JAVA_HOME"
        ):  # found outside PATH: tell pyspark where it is
            env["JAVA_HOME"] = str(java.resolve().parent.parent)
        with self.log_path.open(
            "w"
        ) as log:  # the JVM logs a lot: a file never blocks it, a pipe can
            # -I: no PYTHONPATH, no user site, not the probe's folder on sys.path: jobs see the runtime only.
            # Its own session, so a timeout ends the JVM too.
            self.proc = subprocess.Popen(
                [str(self.python), "-I", str(PROBE), str(self.report_path)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                cwd=self.work,
                start_new_session=True,
            )
        settings = {
            "smoke": self.smoke,
            "job_timeout_s": JOB_TIMEOUT_S,
            "session_conf": self.session_conf(),
        }
        self._send(settings)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self._kill()

    def session_conf(self) -> dict[str, str]:
        """:func:`session_conf`, mapping the runtime's class-data archive when it has one."""
        conf = session_conf(self.work)
        if self.class_archive is not None:
            conf["spark.driver.extraJavaOptions"] += f" -XX:SharedArchiveFile={self.class_archive}"
        return conf

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the probe died; its exit code and log say why

    def _kill(self) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def run(self, jobs: list[SmokeJob]) -> SmokeReport:
        """Import every job's entry point and, when smoke is on, run each job that has an input.

        Returns:
            A :class:`SmokeReport`; ``failure`` says why the probe ended early (crash, timeout).
        """
        assert self.proc is not None and self.proc.stdin is not None
        self._send({"jobs": [job.as_request() for job in jobs]})
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        runs = sum(1 for job in jobs if job.input) if self.smoke else 0
        timeout = PROBE_START_S + (JOB_TIMEOUT_S + 30.0) * runs + 10.0 * len(jobs)
        failure = None
        try:
            code = self.proc.wait(timeout=timeout)
            if code != 0:
                tail = self.log_path.read_text(errors="replace").strip().splitlines()
                failure = (tail or [f"exit code {code}"])[-1][:300]
        except subprocess.TimeoutExpired:
            self._kill()
            failure = f"the smoke runs did not finish within {timeout:.0f}s"
        report = read_report(self.report_path, [job.name for job in jobs])
        report.failure = failure
        return report
