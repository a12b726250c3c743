"""Operation owners: a takeover needs the owning process gone, told apart from a recycled pid."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from finsight_release.envs.operation import current_owner, owner_status


def test_owner_status_of_live_finished_recycled_and_remote_processes() -> None:
    me = current_owner()
    assert owner_status(me) == "alive"
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    host = socket.gethostname()
    assert owner_status(f"{host}:{proc.pid}:1") == "gone"  # exited (and reaped)
    _, pid, ticks = me.split(":")
    assert owner_status(f"{host}:{pid}:{int(ticks) + 1}") == "gone"  # same pid, another process
    assert owner_status(f"another-host:{os.getpid()}:{ticks}") == "unknown"  # cannot tell from here
    assert owner_status(None) == "gone" and owner_status("garbage") == "unknown"


def test_an_unreaped_zombie_is_gone() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        owner = f"{socket.gethostname()}:{proc.pid}:-"
        deadline = time.monotonic() + 10
        while owner_status(owner) == "alive" and time.monotonic() < deadline:
            time.sleep(0.01)  # it exits, but stays a zombie until wait() below
        assert owner_status(owner) == "gone"
    finally:
        proc.wait()
