"""dbt invocations forked from a server process that has imported dbt already.

Importing dbt-core and its DuckDB adapter takes about 2.5 s, as long as parsing and compiling a
40-model project, and a release runs dbt several times. Each invocation must still get a clean process
(dbt's adapters keep global state; DuckDB allows one writer per file). So one server per client process
imports dbt once, warms it with one parse of a one-model project, and forks a fresh child for each
invocation; the child takes the invocation's arguments, environment and working directory, writes its
output to a file and exits with dbt's code.

The protocol is one JSON line each way over the server's stdin and stdout. The server ends when its
client does (end of stdin). One invocation at a time per server: a caller that finds it busy (another
thread of the client) gets ``None`` and runs the dbt executable instead, as it does where dbt is not
importable in this interpreter (an explicit ``FINSIGHT_DBT``).
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import IO, Any

IDLE_S = float(os.environ.get("FINSIGHT_DBT_SERVER_IDLE_S", "600"))
_lock = threading.Lock()
_server: subprocess.Popen[bytes] | None = None


def available() -> bool:
    """Whether dbt can run in a child of this interpreter (installed here, not named elsewhere)."""
    return not os.environ.get("FINSIGHT_DBT") and hasattr(os, "fork") and _dbt_installed()


@cache
def _dbt_installed() -> bool:
    """dbt-core's CLI is in this interpreter, found without importing dbt (2.3 s: the server's
    work, not the client's)."""
    spec = importlib.util.find_spec("dbt")
    locations = (spec.submodule_search_locations or []) if spec else []
    return any((Path(folder) / "cli" / "main.py").is_file() for folder in locations)


def run(args: Sequence[str], env: Mapping[str, str], cwd: Path, output: Path) -> int | None:
    """Run ``dbt <args>`` in a child of the server with ``env`` and ``cwd``, its stdout and stderr
    written to ``output``; dbt's exit code (0 ok, 1 a node failed, 2 dbt itself failed), or None when
    the server is busy or cannot start (the caller runs the executable instead)."""
    if not _lock.acquire(blocking=False):
        return None
    try:
        request = {"args": list(args), "env": dict(env), "cwd": str(cwd), "output": str(output)}
        for _attempt in range(2):  # a server that died (killed, out of memory) is started again
            server = _running_server()
            assert server.stdin is not None and server.stdout is not None
            try:
                server.stdin.write(json.dumps(request).encode() + b"\n")
                server.stdin.flush()
                reply = server.stdout.readline()
            except OSError:
                reply = b""
            except BaseException:
                # Interrupted mid-call: that call's late reply must not answer the next one.
                _stop_server(graceful=False)
                raise
            if reply:
                return int(json.loads(reply)["code"])
            _stop_server()
        return None
    finally:
        _lock.release()


def _forget_server() -> None:
    """In a child forked from a client: the parent's server and lock are the parent's."""
    global _server, _lock
    _server, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_server)


def _running_server() -> subprocess.Popen[bytes]:
    global _server
    if _server is None or _server.poll() is not None:
        _server = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        )
    return _server


def _stop_server(graceful: bool = True) -> None:
    global _server
    if _server is not None:
        try:  # end of input: the server returns and exits cleanly
            assert _server.stdin is not None
            _server.stdin.close()
            _server.wait(timeout=5 if graceful else 0)
        except (OSError, subprocess.TimeoutExpired):
            _server.kill()
            _server.wait()
        _server = None


def serve(requests: IO[bytes], replies: IO[bytes], idle_s: float = IDLE_S) -> None:
    """The server: import dbt and warm it, then fork a child per request line until ``requests``
    ends or stays silent for ``idle_s`` (a long-lived client, such as a Dagster code server, does not
    keep an idle dbt in memory; its next invocation starts a server again)."""
    _warm()
    while select.select([requests], [], [], idle_s)[0]:
        line = requests.readline()
        if not line:
            return
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C stops dbt, as before
            _invoke(json.loads(line))
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        replies.write(json.dumps({"code": code if code >= 0 else 2}).encode() + b"\n")
        replies.flush()


WARM_PROJECT = {
    "dbt_project.yml": "name: warm\nversion: '1.0.0'\nconfig-version: 2\nprofile: warm\n",
    "profiles.yml": (
        "warm:\n  target: duckdb\n  outputs:\n    duckdb:\n      type: duckdb\n"
        "      path: ':memory:'\n"
    ),
    "models/warm.sql": "select 1 as warm\n",
}


def _warm() -> None:
    """Parse a one-model project once: dbt builds its JSON schemas and parses its adapter's macros on
    first use (about 3 s), and every child forked afterwards starts with them done. dbt supports
    sequential invocations in one process, so a child starts as a second invocation would. A parse
    opens no connection (a DuckDB database's threads would not survive the fork)."""
    from dbt.cli.main import dbtRunner

    with tempfile.TemporaryDirectory(prefix="finsight-dbt-warm-") as folder:
        for name, text in WARM_PROJECT.items():
            (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / name).write_text(text)
        target = str(Path(folder) / "target")
        flags = ["--project-dir", folder, "--profiles-dir", folder, "--target-path", target]
        # No static parser: dbt-extractor's Rust thread pool would not survive the fork.
        dbtRunner().invoke(["parse", *flags, "--log-path", target, "--quiet", "--no-static-parser"])


def _invoke(request: dict[str, Any]) -> None:
    """The child: fds 1 and 2 to the output file, the request's environment and directory, dbt, exit
    with its code (never returning to the server's loop)."""
    code = 2
    try:
        fd = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(request["args"])
        code = 0 if result.success else (1 if result.exception is None else 2)
        if result.exception is not None:
            _report(result.exception)
    except BaseException as exc:  # noqa: BLE001 - whatever happens, the child must not return
        _report(exc)
    finally:
        # Exit handlers as a process ending normally runs them (dbt's semaphores are unlinked),
        # but no return into the server's loop.
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _report(exc: BaseException) -> None:
    """An exception dbt did not print, as dbt's CLI prints one (``KeyboardInterrupt`` named)."""
    sys.stdout.write(f"Encountered an error:\n{str(exc) or type(exc).__name__}\n")


if __name__ == "__main__":
    # The protocol owns the original stdout; anything printed by the server itself goes to stderr.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # Ctrl-C reaches the whole process group: the running dbt child stops, the client decides
    # whether the server goes too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.buffer, replies)
