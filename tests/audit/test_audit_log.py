"""The audit chain on SQLite and on a real PostgreSQL: append, verify, and every kind of tampering."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from finsight_release.audit.event import GENESIS_HASH
from finsight_release.audit.log import (
    HEAD_ANCHOR_KEY,
    HEAD_HISTORY_PREFIX,
    AuditLog,
    AuditLogError,
    HeadMark,
)
from finsight_release.audit.verify import verify_chain
from finsight_release.store.local import LocalObjectStore
from tests.audit.chain_helpers import fill, tamper


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
        (["delete from audit_events where seq = 6"], None, "vouches for seq 6"),
    ],
    ids=["modified", "deleted", "reordered", "tail-deleted"],
)
def test_tampering_is_detected(
    log: AuditLog, statements: list[str], bad_seq: int | None, words: str
) -> None:
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
    appender = AuditLog(url, anchor=LocalObjectStore(Path(anchor)))
    for i in range(n):
        appender.append(actor="ci", action="validate", outcome="ok", details={"i": i})


def test_concurrent_writers_never_fork_the_chain_nor_move_the_marker_back(
    log: AuditLog, tmp_path: Path
) -> None:
    ctx = multiprocessing.get_context("spawn")
    anchor = LocalObjectStore(tmp_path / "anchor")
    procs = [
        ctx.Process(target=_append_many, args=(log.url, str(anchor.root), 20)) for _ in range(3)
    ]
    seen: list[int] = []
    done = threading.Event()

    def sample_marker() -> None:  # what any reader of head.json observes while the writers race
        while not done.is_set():
            marker = anchor.get(HEAD_ANCHOR_KEY)
            if marker is not None:
                seen.append(HeadMark.from_bytes(marker.data).seq)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample_marker)
    sampler.start()
    for p in procs:
        p.start()
    for p in procs:
        p.join(90)
    done.set()
    sampler.join()
    assert all(p.exitcode == 0 for p in procs)
    result = verify_chain(log)
    assert result.ok and result.checked == 60, result.message
    assert seen == sorted(seen) and len(set(seen)) > 3  # sampled mid-race, never backwards
    hashes = {e["seq"]: e["hash"] for e in log.events()}
    assert anchor.get(HEAD_ANCHOR_KEY).data == HeadMark(60, hashes[60]).to_bytes()  # type: ignore[union-attr]
    history = {HeadMark.from_bytes(anchor.get(k).data) for k in anchor.list(HEAD_HISTORY_PREFIX)}  # type: ignore[union-attr]
    assert history == {HeadMark(0, GENESIS_HASH)} | {HeadMark(seq, h) for seq, h in hashes.items()}


def test_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(AuditLogError, match="unavailable") as info:
        AuditLog("postgresql+psycopg://nobody:secret@127.0.0.1:9/none?connect_timeout=2")
    assert "secret" not in str(info.value) and "\n" not in str(info.value)
