"""Runs INSIDE a PEP 517 build environment (imports only the stdlib and the build backend).

    python wheel_build_probe.py REQUEST_JSON REPORT_JSON

REQUEST_JSON: {"backend": "setuptools.build_meta", "backend_path": [], "workers": 2,
               "jobs": [{"name": ..., "source": <project dir>, "out": <wheel dir>, "log": <file>}]}

Builds each project's wheel with the backend's hooks, as a frontend like ``uv build`` would, but in
one interpreter: the backend is imported once and each build runs in a forked child (a fresh copy of
the process, so one build's global state never leaks into the next), ``workers`` at a time. A build
whose backend asks for requirements the environment lacks (``get_requires_for_build_wheel``) reports
them as ``needs`` instead of building, so the caller can install them and ask again.

REPORT_JSON: {name: {"wheel": <file>} | {"error": <last line>, "log": <tail>} | {"needs": [...]}}
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import re
import sys
import traceback
from typing import Any

LOG_TAIL_LINES = 15
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def load_backend(spec: str, backend_path: list[str], source: str) -> Any:
    """Import ``module[:object]`` with the in-tree ``backend-path`` entries (relative to ``source``) first."""
    for entry in reversed(backend_path):
        sys.path.insert(0, os.path.join(source, entry))
    module_name, _, attr = spec.partition(":")
    backend = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        backend = getattr(backend, part)
    return backend


def missing(requirements: list[str]) -> list[str]:
    """The requirements whose distribution is not installed here (names only: the env was built for them)."""
    out = []
    for requirement in requirements:
        match = _NAME.match(requirement.split(";")[0])
        if not match:
            continue
        try:
            importlib.metadata.distribution(match.group(1))
        except importlib.metadata.PackageNotFoundError:
            out.append(requirement)
    return out


def tail(path: str) -> str:
    try:
        with open(path, errors="replace") as fh:
            return "".join(fh.readlines()[-LOG_TAIL_LINES:])
    except OSError:
        return ""


def build_one(job: dict[str, Any], spec: str, backend_path: list[str], preloaded: Any) -> None:
    """In the forked child: build one wheel and write its result next to it."""
    log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    result_path = os.path.join(job["out"], "result.json")
    result: dict[str, Any]
    try:
        os.chdir(job["source"])
        backend = preloaded or load_backend(spec, backend_path, job["source"])
        hook = getattr(backend, "get_requires_for_build_wheel", None)
        needs = missing(hook() if hook else [])
        if needs:
            result = {"needs": needs}
        else:
            result = {"wheel": os.path.join(job["out"], backend.build_wheel(job["out"]))}
    except BaseException as exc:  # noqa: BLE001 - setuptools reports errors as SystemExit
        traceback.print_exc()
        sys.stderr.flush()
        text = str(exc).strip().splitlines()
        result = {"error": f"{type(exc).__name__}: {text[-1] if text else ''}".rstrip(": ")}
    with open(result_path, "w") as fh:
        json.dump(result, fh)


def collect(job: dict[str, Any]) -> dict[str, Any]:
    try:
        with open(os.path.join(job["out"], "result.json")) as fh:
            result = json.load(fh)
    except (OSError, ValueError):
        result = {"error": "the build process died without a result"}
    if "error" in result:
        result["log"] = tail(job["log"])
    return result


def main(request_path: str, report_path: str) -> None:
    with open(request_path) as fh:
        request = json.load(fh)
    spec, backend_path = request["backend"], request.get("backend_path") or []
    preloaded = None
    if not backend_path:
        try:  # importing once before forking is what makes the builds cheap
            preloaded = load_backend(spec, [], os.getcwd())
        except Exception:  # noqa: BLE001 - each child retries and reports the import error itself
            preloaded = None
    report: dict[str, Any] = {}
    running: dict[int, dict[str, Any]] = {}
    pending = list(request["jobs"])
    workers = max(1, int(request.get("workers", 1)))
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            os.makedirs(job["out"], exist_ok=True)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                try:
                    build_one(job, spec, backend_path, preloaded)
                finally:  # the child must never return into the parent's loop
                    os._exit(0)
            running[pid] = job
        pid, _status = os.wait()
        job = running.pop(pid, None)
        if job is not None:
            report[job["name"]] = collect(job)
    with open(report_path, "w") as fh:
        json.dump(report, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
