"""The audit chain on SQLite and on a real PostgreSQL: append, verify, and every kind of tampering."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from finsight_release.audit.log import AuditLog, AuditLogError
from finsight_release.audit.verify import verify_chain
from finsight_release.store.local import LocalObjectStore
from tests.postgres_fixture import postgres_url  # noqa: F401 - fixture


@pytest.fixture(params=["sqlite", "postgres"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditLog]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        base = request.getfixturevalue("postgres_url")
        schema = f"t_{uuid.uuid4().hex[:8]}"
        url = f"{base}?options=-csearch_path%3D{schema}"
        with create_engine(base).begin() as conn:  # each test gets its own schema
            conn.execute(text(f"create schema {schema}"))
    yield AuditLog(url, anchor=LocalObjectStore(tmp_path / "anchor"))


def fill(log: AuditLog, n: int = 6) -> None:
    for i in range(n):
        log.append(
            actor="alice",
            action="promote",
            outcome="ok",
            release_id=f"r-{i}",
            environment="prod",
            digests={"airflow/dags": f"{i:064d}"},
            details={"i": i, "note": "déploiement"},
        )


def tamper(log: AuditLog, *statements: str) -> None:
    """Run raw SQL past the append-only triggers (what an attacker with DBA rights could do)."""
    with log.engine.begin() as conn:
        if log.is_sqlite:
            conn.exec_driver_sql("drop trigger audit_events_no_update")
            conn.exec_driver_sql("drop trigger audit_events_no_delete")
        else:
            conn.exec_driver_sql("alter table audit_events disable trigger audit_events_no_change")
        for sql in statements:
            conn.exec_driver_sql(sql)


def test_append_and_verify(log: AuditLog) -> None:
    fill(log)
    result = verify_chain(log)
    assert result.ok and result.checked == 6
    assert log.events(release_id="r-3")[0]["details"] == {"i": 3, "note": "déploiement"}


def test_triggers_reject_update_and_delete(log: AuditLog) -> None:
    fill(log, 2)
    for sql in ("update audit_events set outcome = 'failed'", "delete from audit_events"):
        with pytest.raises(Exception, match="append-only"), log.engine.begin() as conn:
            conn.exec_driver_sql(sql)


@pytest.mark.parametrize(
    ("statements", "bad_seq", "words"),
    [
        (["update audit_events set outcome = 'failed' where seq = 3"], 3, "content modified"),
        (["delete from audit_events where seq = 4"], 5, "seq 4 missing"),
        (
            [
                "update audit_events set seq = 100 where seq = 2",
                "update audit_events set seq = 2 where seq = 3",
                "update audit_events set seq = 3 where seq = 100",
            ],
            2,
            "hash mismatch",
        ),
        (["delete from audit_events where seq = 6"], 6, "newest events deleted"),
    ],
    ids=["modified", "deleted", "reordered", "tail-deleted"],
)
def test_tampering_is_detected(log: AuditLog, statements: list[str], bad_seq: int, words: str) -> None:
    fill(log)
    tamper(log, *statements)
    result = verify_chain(log)
    assert not result.ok and result.first_bad_seq == bad_seq and words in str(result.problem)


def test_forged_insert_is_detected(log: AuditLog) -> None:
    fill(log)
    row = log.events(release_id="r-2")[0]
    tamper(log, "delete from audit_events where seq >= 3")
    # Re-insert a forged event at seq 3 copying a real one's hashes, then the original tail.
    with log.engine.begin() as conn:
        conn.execute(
            text(
                "insert into audit_events (seq, event_id, ts, actor, action, release_id, environment, digests, "
                "outcome, details, prev_hash, hash) values (3, 'forged', :ts, 'mallory', 'promote', 'r-evil', "
                "'prod', '{}', 'ok', '{}', :prev, :hash)"
            ),
            {"ts": row["ts"], "prev": row["hash"], "hash": row["hash"]},
        )
    result = verify_chain(log)
    assert not result.ok and result.first_bad_seq == 3 and result.first_bad_event == "forged"


def _append_many(url: str, anchor: str, n: int) -> None:
    log = AuditLog(url, anchor=LocalObjectStore(Path(anchor)))
    for i in range(n):
        log.append(actor="ci", action="validate", outcome="ok", details={"i": i})


def test_concurrent_writers_never_fork_the_chain(log: AuditLog, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    anchor = str(tmp_path / "anchor")
    procs = [ctx.Process(target=_append_many, args=(log.url, anchor, 25)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    result = verify_chain(log)
    assert result.ok and result.checked == 50


def test_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(AuditLogError, match="unavailable") as info:
        AuditLog("postgresql+psycopg://nobody:secret@127.0.0.1:9/none?connect_timeout=2")
    assert "secret" not in str(info.value) and "\n" not in str(info.value)
