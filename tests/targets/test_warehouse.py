"""The DuckDB warehouse target waits for the file lock another process holds, for a bounded time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from finsight_release.errors import WarehouseDeployError
from finsight_release.targets.warehouse import DuckDbWarehouseTarget

HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table if not exists t as select 1 as x")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process with a read-write connection to ``db`` for ``seconds``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_connect_waits_for_another_process_lock(tmp_path: Path) -> None:
    db = tmp_path / "dev.duckdb"
    holder = hold_lock(db, 1.5)
    with pytest.raises(duckdb.IOException, match="lock"):
        duckdb.connect(str(db))  # what the deploy used to do: fail at once
    start = time.monotonic()
    with DuckDbWarehouseTarget(tmp_path, tmp_path / "p").connect(db) as con:
        assert con.execute("select x from t").fetchone() == (1,)
    assert time.monotonic() - start > 0.3
    holder.wait()


def test_lock_wait_is_bounded_with_one_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "dev.duckdb"
    holder = hold_lock(db, 10)
    try:
        target = DuckDbWarehouseTarget(tmp_path, tmp_path / "p", lock_timeout_s=0.5)
        with pytest.raises(
            WarehouseDeployError, match="stayed locked by another process for 0.5 s"
        ) as info:
            target.connect(db, read_only=True)
        assert "\n" not in str(info.value) and str(db) in str(info.value)
    finally:
        holder.kill()
        holder.wait()
