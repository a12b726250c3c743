"""Runs INSIDE the Spark runtime virtualenv (imports only pyspark and the stdlib).

    python -I smoke_probe.py REPORT_JSONL < requests

The request comes on stdin as two JSON lines, so the JVM boots while the caller still builds wheels:

    {"session_conf": {...}, "smoke": true, "job_timeout_s": 120}      -> starts the session (if smoke)
    {"jobs": [{"name", "overlay", "entry_point": "pkg.main:main", "program", "input", "output",
               "output_format", "conf": {...}}]}                        -> runs them, then exits

For each job in turn: put its overlay (its wheel and its declared dependencies) first on sys.path,
import the entry point, and, when ``smoke`` is set and the job has an ``input``, call
``main(["--input", input, "--output", output], spark=session)`` on one local-mode SparkSession shared
by every job (a JVM start costs seconds), then read the output back and count its rows. The job's
``spark.sql.*`` settings apply for its run only. After the job, every module loaded from its overlay
is dropped, so the next job sees only its own dependencies. A job still running after
``job_timeout_s`` has its Spark jobs cancelled (its action then raises).

REPORT_JSONL gets one JSON object per line, written as it happens (a caller that times out still
knows which job was running): ``{"event": "import" | "started" | "smoke" | "session", "name", "ok",
"error", "where": [file, line] | null, "rows", "seconds"}``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from typing import Any

SMOKE_CONF_SKIPPED = {"spark.sql.shuffle.partitions"}  # the smoke keeps its own, small value


class Report:
    def __init__(self, path: str) -> None:
        self.fh = open(path, "w")  # noqa: SIM115 - open for the whole run

    def write(self, **record: Any) -> None:
        self.fh.write(json.dumps(record) + "\n")
        self.fh.flush()


def describe(exc: BaseException) -> str:
    """The last exception line: for a JVM error its innermost Java cause, else ``Type: first line``."""
    java = getattr(exc, "java_exception", None)
    if java is not None:
        try:
            cause = java
            while cause.getCause() is not None:
                cause = cause.getCause()
            return str(cause.toString())
        except Exception:  # noqa: BLE001 - the gateway may be gone
            pass
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg}"
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def inside(path: str | None, overlay: str) -> bool:
    return bool(path) and str(path).startswith(overlay.rstrip(os.sep) + os.sep)


def where(exc: BaseException, overlay: str) -> list[Any] | None:
    """(file, line) of the innermost frame inside the job's own overlay, or of a SyntaxError."""
    if isinstance(exc, SyntaxError) and inside(exc.filename, overlay):
        return [exc.filename, exc.lineno]
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if inside(frame.filename, overlay):
            found = [frame.filename, frame.lineno]
    return found


def load_entry_point(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    target = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec} is not callable")
    return target


def drop_overlay(overlay: str) -> None:
    """Forget every module loaded from ``overlay`` and take it off sys.path."""
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        paths = list(getattr(module, "__path__", []) or [])
        if inside(origin, overlay) or any(inside(p, overlay) for p in paths):
            del sys.modules[name]
    while overlay in sys.path:
        sys.path.remove(overlay)
    sys.path_importer_cache.pop(overlay, None)
    importlib.invalidate_caches()


class Session:
    """The one local SparkSession, started on first use and again if a job stopped it."""

    def __init__(self, conf: dict[str, str]) -> None:
        self.conf = conf
        self.spark: Any = None
        self.error: str | None = (
            None  # set when the JVM did not start: no job is smoke-run after that
        )

    def get(self) -> Any:
        if self.spark is None or self.spark.sparkContext._jsc is None:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.master("local[1]").appName("finsight-spark-smoke")
            for key, value in self.conf.items():
                builder = builder.config(key, value)
            self.spark = builder.getOrCreate()
            self.spark.sparkContext.setLogLevel("ERROR")
        return self.spark

    def start(self, report: Report) -> None:
        """Start the JVM and plan and run one tiny query (class loading, JIT) before any job needs it."""
        try:
            spark = self.get()
            spark.range(4).selectExpr("id % 2 AS k").groupBy("k").count().collect()
        except Exception as exc:  # noqa: BLE001 - Java present but the JVM did not start
            self.error = describe(exc)
            report.write(event="session", name=None, ok=False, error=self.error, where=None)


def call_main(main: Any, program: str, argv: list[str], spark: Any) -> Any:
    """Call the entry point the way its signature allows; returns its exit code."""
    try:
        params: Mapping[str, inspect.Parameter] = inspect.signature(main).parameters
    except (TypeError, ValueError):
        params = {}
    saved = sys.argv
    sys.argv = [program, *argv]
    try:
        if "spark" in params:
            code = main(argv, spark=spark)
        elif params:
            code = main(argv)
        else:  # a console-script style main() that reads sys.argv
            code = main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = saved
    return 0 if code in (None, 0) else code


def count_rows(spark: Any, output: str, fmt: str | None) -> int:
    if not os.path.isdir(output) and not os.path.isfile(output):
        return 0
    return spark.read.format(fmt or "parquet").load(output).count()


def smoke(job: dict[str, Any], main: Any, session: Session, report: Report, timeout: float) -> None:
    overlay = job["overlay"]
    start = time.perf_counter()
    record = {
        "event": "smoke",
        "name": job["name"],
        "ok": False,
        "error": None,
        "where": None,
        "rows": None,
    }
    applied = []
    try:
        spark = session.get()  # a job that stopped the session gets a new one
    except Exception as exc:  # noqa: BLE001 - the JVM did not come back
        session.error = describe(exc)
        report.write(event="session", name=job["name"], ok=False, error=session.error, where=None)
        return
    report.write(event="started", name=job["name"])
    timed_out = threading.Event()

    def cancel() -> None:
        timed_out.set()
        spark.sparkContext.cancelAllJobs()

    watchdog = threading.Timer(timeout, cancel)
    watchdog.daemon = True
    try:
        for key, value in (job.get("conf") or {}).items():
            if (
                key not in SMOKE_CONF_SKIPPED
                and key.startswith("spark.sql.")
                and spark.conf.isModifiable(key)
            ):
                applied.append((key, spark.conf.get(key, None)))
                spark.conf.set(key, str(value))
        spark.sparkContext.environment["PYTHONPATH"] = (
            overlay  # Python workers (UDFs) import the job too
        )
        watchdog.start()
        code = call_main(
            main, job["program"], ["--input", job["input"], "--output", job["output"]], spark
        )
        watchdog.cancel()
        if code != 0:
            record["error"] = f"main returned exit code {code}"
        else:
            record["rows"] = count_rows(session.get(), job["output"], job.get("output_format"))
            record["ok"] = True
    except Exception as exc:  # noqa: BLE001 - any failure of the job is the finding
        record["error"], record["where"] = describe(exc), where(exc, overlay)
        if timed_out.is_set():
            record["error"] = (
                f"did not finish within {timeout:.0f}s (its Spark jobs were cancelled): {record['error']}"
            )
    finally:
        watchdog.cancel()
        if session.spark is not None and session.spark.sparkContext._jsc is not None:
            for key, previous in applied:
                if previous is None:
                    session.spark.conf.unset(key)
                else:
                    session.spark.conf.set(key, previous)
    record["seconds"] = round(time.perf_counter() - start, 3)
    report.write(**record)


def read_line() -> dict[str, Any]:
    line = sys.stdin.readline()
    return json.loads(line) if line.strip() else {}


def main(report_path: str) -> None:
    report = Report(report_path)
    settings = read_line()
    session = Session(settings.get("session_conf") or {})
    smoke_enabled = bool(settings.get("smoke"))
    if smoke_enabled:
        session.start(report)
    jobs = read_line().get("jobs") or []
    for job in jobs:
        overlay = job["overlay"]
        sys.path.insert(0, overlay)
        importlib.invalidate_caches()
        start = time.perf_counter()
        try:
            entry = load_entry_point(job["entry_point"])
        except BaseException as exc:  # noqa: BLE001 - SystemExit at import time is an import failure too
            report.write(
                event="import",
                name=job["name"],
                ok=False,
                error=describe(exc),
                where=where(exc, overlay),
                seconds=round(time.perf_counter() - start, 3),
            )
            drop_overlay(overlay)
            continue
        report.write(
            event="import", name=job["name"], ok=True, seconds=round(time.perf_counter() - start, 3)
        )
        if smoke_enabled and job.get("input") and session.error is None:
            smoke(job, entry, session, report, float(settings.get("job_timeout_s", 120)))
        drop_overlay(overlay)
    if session.spark is not None:
        session.spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
