"""The head marker through the real CLI, one process per command, against tampering done from outside.

Each scenario tampers with a copy of one installation (two builds and a refused promotion, three
events), then runs ``finsight-release promote`` (which appends a refusal) and ``audit verify``.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from finsight_release.audit.log import HEAD_ANCHOR_KEY, HeadMark
from tests.mini_platform import make_platform
from tests.newcomer import newcomer_env, run_cli


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = newcomer_env(
        FINSIGHT_HOME=str(home),
        FINSIGHT_ACTOR="alice",
        FINSIGHT_REQUIRE_VALIDATION="",
        COLUMNS="80",  # a narrow terminal: messages must still be one line
    )
    for name in ("FINSIGHT_STORE_URL", "FINSIGHT_AUDIT_URL", "FINSIGHT_MODE"):
        env.pop(name, None)
    return run_cli(list(args), env, timeout=120)


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A home with three audit events (build, build, refused promotion) and the first release's id."""
    root = tmp_path_factory.mktemp("installation")
    home = root / "home"
    first = run(home, "build", "--platform", str(make_platform(root / "p1", without="dbt")))
    assert first.returncode == 0, first.stderr
    release = next(word for word in first.stdout.split() if word.startswith("r-"))
    p2 = make_platform(
        root / "p2", {"release_assets/airflow/dags/ingest_core.py": "# v2\n"}, without="dbt"
    )
    assert run(home, "build", "--platform", str(p2)).returncode == 0
    refused = run(home, "promote", "prod", release)
    assert refused.returncode != 0 and "not live in staging" in refused.stderr, refused.stderr
    assert run(home, "audit", "verify").stdout.strip() == "audit chain ok: 3 events verified"
    return home, release


def _drop_triggers_and_delete_newest(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("drop trigger audit_events_no_delete")
        conn.execute("delete from audit_events where seq > 1")


def _rewrite_file_without_newest(db: Path) -> None:
    """Copy the first event into a fresh file (triggers and all) and swap it in: no trigger ever fired."""
    fresh = db.with_suffix(".new")
    with sqlite3.connect(db) as old, sqlite3.connect(fresh) as new:
        for (ddl,) in old.execute(
            "select sql from sqlite_master where sql is not null order by type = 'trigger'"
        ):
            new.execute(ddl)
        new.executemany(
            "insert into audit_events values (" + ",".join("?" * 12) + ")",
            old.execute("select * from audit_events where seq <= 1"),
        )
    fresh.replace(db)


def _delete_database(db: Path) -> None:
    db.unlink()


@pytest.mark.parametrize(
    ("tamper", "log_ends_at"),
    [
        (_drop_triggers_and_delete_newest, 1),
        (_rewrite_file_without_newest, 1),
        (_delete_database, 0),
    ],
    ids=["triggers-dropped", "file-rewritten", "database-deleted"],
)
def test_a_refused_promote_cannot_paper_over_deleted_events(
    installation: tuple[Path, str], tmp_path: Path, tamper: Callable[[Path], None], log_ends_at: int
) -> None:
    home = tmp_path / "home"
    shutil.copytree(installation[0], home, symlinks=True)
    marker_path = home / "store" / HEAD_ANCHOR_KEY
    marker_bytes = marker_path.read_bytes()
    head = HeadMark.from_bytes(marker_bytes)
    tamper(home / "audit.db")

    promoted = run(home, "promote", "prod", installation[1])
    assert promoted.returncode != 0
    assert promoted.stderr.count("\n") == 1 and "refusing to append" in promoted.stderr, (
        promoted.stderr
    )
    assert (
        head.describe() in promoted.stderr and f"log ends at seq {log_ends_at}" in promoted.stderr
    )
    assert marker_path.read_bytes() == marker_bytes  # the marker did not move
    with sqlite3.connect(home / "audit.db") as conn:
        assert (
            conn.execute("select count(*) from audit_events").fetchone()[0] == log_ends_at
        )  # nothing appended

    verified = run(home, "audit", "verify")
    assert verified.returncode != 0 and verified.stdout == ""
    assert verified.stderr.count("\n") == 1 and verified.stderr.startswith("audit chain broken:"), (
        verified.stderr
    )
    assert (
        head.describe() in verified.stderr and f"log ends at seq {log_ends_at}" in verified.stderr
    )


def test_deleting_the_marker_hides_nothing(installation: tuple[Path, str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(installation[0], home, symlinks=True)
    head = HeadMark.from_bytes((home / "store" / HEAD_ANCHOR_KEY).read_bytes())
    (home / "store" / HEAD_ANCHOR_KEY).unlink()

    verified = run(home, "audit", "verify")
    assert verified.returncode != 0 and verified.stderr.count("\n") == 1, verified.stderr
    assert "head.json missing" in verified.stderr and head.describe() in verified.stderr
    promoted = run(home, "promote", "prod", installation[1])
    assert (
        promoted.returncode != 0
        and "refusing to append" in promoted.stderr
        and head.describe() in promoted.stderr
    )
    assert not (home / "store" / HEAD_ANCHOR_KEY).exists()  # not silently re-created


def test_a_fresh_install_verifies(tmp_path: Path) -> None:
    verified = run(tmp_path / "home", "audit", "verify")
    assert verified.returncode == 0 and "0 events verified" in verified.stdout, verified.stderr
