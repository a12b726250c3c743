"""Runs INSIDE the Airflow 2.10.5 virtualenv (imports only airflow and the stdlib).

    python dagbag_probe.py DAGS_FOLDER FILES_JSON REPORT_JSONL CRASH_LOG

Parses the DAG files listed in FILES_JSON (a JSON array of absolute paths) in one real DagBag, file
by file, exactly as the scheduler's DAG processor does (``DagBag.process_file``: the per-file import
timeout, DAG validation, cycle and duplicate-id checks). Several probes run side by side on disjoint
shards of the bundle; the caller merges them (and finds duplicate DAG ids across shards).

The report is JSON lines, flushed as it goes, because a DAG file can take the whole process down and
the caller must know which file did: ``{"begin": path}`` before a file, ``{"file": path, ...}`` after it
(seconds, DAG ids, import error, warnings, the first line that wrote output), ``{"dags": {...}}`` per
file with each DAG's schedule, owner, retries, catchup, connection ids and Variables, and
``{"done": true}`` at the end. A file the caller sees begun but not finished crashed the process; the
caller blames it (with the traceback faulthandler wrote to CRASH_LOG) and starts a new probe on the
files after it.

What a DAG file can do to the process, and what happens:
- ``sys.exit()``, ``KeyboardInterrupt`` and other BaseExceptions: caught per file, an import error.
- ``os._exit()``: replaced while a file is imported by a function that raises, so it is one too.
- endless loops: Airflow's import timeout (SIGALRM) raises; a loop the signal cannot interrupt (C code,
  a handler the file replaced) is ended by faulthandler's watchdog, which dumps the stack and exits.
- unbounded allocation: RLIMIT_DATA caps the heap, so it fails with MemoryError (or a crash, below).
- a crash of the interpreter (segfault, abort): faulthandler writes the Python stack to CRASH_LOG.
- output and warnings: stdout/stderr are swapped per file for a recorder of the first writing line
  (file descriptors 1 and 2 go to /dev/null), warnings are captured by the DagBag itself.
"""

from __future__ import annotations

import faulthandler
import gc
import json
import os
import re
import resource
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from types import FrameType
from typing import Any, NoReturn, TextIO

VARIABLE = re.compile(r"\bvar\.(?:value|json)\.([A-Za-z_][A-Za-z0-9_]*)")


class ExitCalled(BaseException):
    """os._exit() called by a DAG file while it was imported."""


class OutputRecorder:
    """Stands in for sys.stdout / sys.stderr while a file is imported: records where output came from."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.first: dict[str, Any] | None = None
        self.count = 0

    def write(self, text: str) -> int:
        if text and self.first is None:
            self.first = self._writer()
        self.count += len(text or "")
        return len(text or "")

    def _writer(self) -> dict[str, Any] | None:
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(self.folder):
                return {"path": name, "line": frame.f_lineno}
            frame = frame.f_back
        return None

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("no file descriptor while a DAG file is parsed")


def conn_ids(task: Any) -> set[str]:
    found = set()
    for name in dir(task):
        if name.endswith("conn_id") and not name.startswith("_"):
            try:
                value = getattr(task, name)
            except Exception:  # noqa: BLE001 - a property may need a context
                continue
            if isinstance(value, str) and value and "{{" not in value:
                found.add(value)
    return found


def strings(value: Any) -> Iterator[str]:
    """Every string inside a template field's value (lists, tuples, dicts nested)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def variables(task: Any) -> set[str]:
    """Variables the task's templates read as ``{{ var.value.x }}`` / ``{{ var.json.x }}``."""
    found = set()
    for field in getattr(task, "template_fields", ()):
        try:
            value = getattr(task, field)
        except Exception:  # noqa: BLE001
            continue
        for text in strings(value):
            found.update(VARIABLE.findall(text))
    return found


def describe(dag: Any) -> dict[str, Any]:
    args = dag.default_args or {}
    tasks = dag.tasks
    return {
        "file": dag.fileloc,
        "schedule": str(dag.timetable.summary),
        "owner": args.get("owner") or dag.owner,
        "retries": args.get("retries"),
        "catchup": dag.catchup,
        "tasks": len(tasks),
        "conn_ids": sorted(set().union(*[conn_ids(t) for t in tasks])) if tasks else [],
        "variables": sorted(set().union(*[variables(t) for t in tasks])) if tasks else [],
    }


def silence_descriptors() -> None:
    """Point fds 1 and 2 at /dev/null: output a DAG file writes below Python never reaches the caller."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)


def cap_memory() -> None:
    """Cap the heap (RLIMIT_DATA) at FINSIGHT_DAGBAG_MEMORY_MB, so runaway allocation fails instead of the host."""
    megabytes = int(os.environ.get("FINSIGHT_DAGBAG_MEMORY_MB") or 0)
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def forget(bag: Any, path: str, failed: bool) -> None:
    """Drop what parsing ``path`` left behind (its DAGs, its module and what that module holds), so a
    probe's memory stays flat over thousands of files and one file's garbage cannot starve the next.
    Duplicate DAG ids are found by the caller across all files, not by this bag."""
    bag.dags.clear()
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) == path:
            del sys.modules[name]
    if failed:  # a failed import may hold what exhausted memory in reference cycles
        gc.collect()


def parse_one(
    bag: Any, path: str, folder: str, timeout: float, crash: TextIO
) -> tuple[dict[str, Any], list[Any]]:
    """Process one file; returns its report record and the DAGs it defined."""
    real_exit, real_out, real_err = os._exit, sys.stdout, sys.stderr
    recorder = OutputRecorder(folder)
    saved_filters = list(warnings.filters)

    def exit_called(code: int = 0) -> NoReturn:
        raise ExitCalled(f"os._exit({code}) called while the file was imported")

    error = None
    found = []
    start = time.perf_counter()
    # After Airflow's own timeout had its chance (SIGALRM), the watchdog thread ends what it could not.
    faulthandler.dump_traceback_later(timeout + min(10.0, max(1.0, timeout)), exit=True, file=crash)
    os._exit, sys.stdout, sys.stderr = exit_called, recorder, recorder  # type: ignore[assignment]
    try:
        found = bag.process_file(path, only_if_updated=False, safe_mode=True)
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, ExitCalled: the file's error
        error = "".join(traceback.format_exception(exc))
    finally:
        os._exit, sys.stdout, sys.stderr = real_exit, real_out, real_err
        faulthandler.cancel_dump_traceback_later()
        warnings.filters[:] = saved_filters  # type: ignore[index]
    seconds = time.perf_counter() - start
    error = error or bag.import_errors.get(path)
    forget(bag, path, failed=error is not None)
    record = {
        "file": path,
        "seconds": seconds,
        "dag_ids": sorted(d.dag_id for d in found),
        "error": error,
        "warnings": list(bag.captured_warnings.get(path, ())),
        "output": None if error else recorder.first,  # a failed import's own error is the finding
        "output_chars": recorder.count,
    }
    return record, found


def main(folder: str, files_json: str, report_path: str, crash_path: str) -> None:
    with open(crash_path, "w") as crash:
        faulthandler.enable(file=crash, all_threads=False)
        with open(files_json) as fh:
            files = json.load(fh)
        from airflow.models.dagbag import DagBag

        bag = DagBag(dag_folder=folder, include_examples=False, safe_mode=True, collect_dags=False)
        timeout = float(os.environ.get("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT") or 30)
        silence_descriptors()
        cap_memory()
        folder = os.path.join(os.path.abspath(folder), "")
        with open(report_path, "a", encoding="utf-8") as report:

            def emit(item: dict[str, Any]) -> None:
                report.write(json.dumps(item, default=str) + "\n")
                report.flush()

            for path in files:
                emit({"begin": path})
                record, found = parse_one(bag, path, folder, timeout, crash)
                dags = {}
                for dag in found:
                    try:
                        dags[dag.dag_id] = describe(dag)
                    except Exception as exc:  # noqa: BLE001 - a DAG object the file built oddly
                        record["error"] = record["error"] or f"{type(exc).__name__}: {exc}"
                emit({**record, "dags": dags})
            emit({"done": True})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])
