"""The head marker on SQLite and PostgreSQL: appends refuse, and verify fails, once the log is behind it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from finsight_release.audit.event import GENESIS_HASH
from finsight_release.audit.log import (
    HEAD_ANCHOR_KEY,
    AuditLog,
    AuditLogError,
    HeadMark,
    history_key,
)
from finsight_release.audit.verify import verify_chain
from finsight_release.store.local import LocalObjectStore
from tests.audit.chain_helpers import fill, tamper


def anchor_files(log: AuditLog) -> dict[str, bytes]:
    """Every object in the anchor store, to show a refused append wrote nothing there."""
    assert isinstance(log.anchor, LocalObjectStore)
    return {key: log.anchor.get(key).data for key in log.anchor.list("")}  # type: ignore[union-attr]


def event_count(log: AuditLog) -> int:
    with log.engine.connect() as conn:
        return int(conn.execute(text("select count(*) from audit_events")).scalar_one())


def append_one(log: AuditLog) -> dict[str, object]:
    return log.append(
        actor="mallory", action="refuse", outcome="refused", release_id="r-x", environment="prod"
    )


def vouched(log: AuditLog) -> HeadMark:
    marker, _ = log.head_marks()
    assert marker is not None
    return marker


def assert_refused_and_unchanged(log: AuditLog, *words: str) -> None:
    """The append raises one line naming ``words`` and neither the database nor the anchor changes."""
    before_files, before_count = anchor_files(log), event_count(log)
    with pytest.raises(AuditLogError, match="refusing to append") as info:
        append_one(log)
    message = str(info.value)
    assert "\n" not in message and all(word in message for word in words), message
    assert anchor_files(log) == before_files and event_count(log) == before_count


def test_fresh_install_verifies_and_its_first_append_vouches_for_the_empty_log(
    log: AuditLog,
) -> None:
    assert verify_chain(log).ok and log.head_marks() == (None, None)
    event = append_one(log)
    assert log.head_marks() == (HeadMark(1, str(event["hash"])), HeadMark(1, str(event["hash"])))
    assert (
        log.anchor is not None
        and log.anchor.get(history_key(0)).data == HeadMark(0, GENESIS_HASH).to_bytes()
    )  # type: ignore[union-attr]
    assert verify_chain(log).ok


@pytest.mark.parametrize("keep", [4, 0], ids=["newest-two-deleted", "all-deleted"])
def test_truncated_log_refuses_appends_and_fails_verification(log: AuditLog, keep: int) -> None:
    fill(log)
    head = vouched(log)
    tamper(log, f"delete from audit_events where seq > {keep}")
    assert_refused_and_unchanged(log, head.describe(), f"log ends at seq {keep}")
    result = verify_chain(log)
    assert (
        not result.ok
        and head.describe() in result.message
        and f"log ends at seq {keep}" in result.message
    )


def test_recreated_database_refuses_appends_and_fails_verification(log: AuditLog) -> None:
    fill(log, 3)
    head = vouched(log)
    if log.is_sqlite:
        log.engine.dispose()
        Path(log.engine.url.database or "").unlink()
    else:
        tamper(log, "drop table audit_events")
    recreated = AuditLog(log.url, anchor=log.anchor)
    assert event_count(recreated) == 0
    assert_refused_and_unchanged(recreated, head.describe(), "log ends at seq 0")
    result = verify_chain(recreated)
    assert not result.ok and head.describe() in result.message


def test_deleted_marker_refuses_appends_and_fails_verification(
    log: AuditLog, tmp_path: Path
) -> None:
    fill(log, 3)
    head = vouched(log)
    (tmp_path / "anchor" / HEAD_ANCHOR_KEY).unlink()
    assert_refused_and_unchanged(log, "head.json is missing", head.describe())
    result = verify_chain(log)
    assert (
        not result.ok
        and "head.json missing" in result.message
        and head.describe() in result.message
    )


def test_deleted_marker_and_history_with_events_left_is_not_a_fresh_install(
    log: AuditLog, tmp_path: Path
) -> None:
    fill(log, 3)
    shutil.rmtree(tmp_path / "anchor" / "audit")
    assert_refused_and_unchanged(log, "up to seq 3", "no head marker")
    result = verify_chain(log)
    assert not result.ok and "no marker history vouches for any of the 3 events" in result.message


def test_marker_put_back_with_the_log_truncated_to_match_is_caught_by_its_history(
    log: AuditLog, tmp_path: Path
) -> None:
    fill(log, 4)
    old_marker = (tmp_path / "anchor" / HEAD_ANCHOR_KEY).read_bytes()
    fill(log, 2)
    head = vouched(log)
    tamper(log, "delete from audit_events where seq > 4")
    (tmp_path / "anchor" / HEAD_ANCHOR_KEY).write_bytes(old_marker)
    assert_refused_and_unchanged(log, "history vouches for seq 5", "moved back")
    result = verify_chain(log)
    assert (
        not result.ok
        and head.describe() in result.message
        and "log ends at seq 4" in result.message
    )


def test_chain_rewritten_after_the_marker_fails_on_its_hash(log: AuditLog) -> None:
    fill(log)
    head = vouched(log)
    tamper(log, "delete from audit_events where seq > 4")
    fill(
        AuditLog(log.url), 2
    )  # re-grown past the anchor: a valid chain, other events at seq 5 and 6
    assert_refused_and_unchanged(log, head.describe(), "chain rewritten")
    result = verify_chain(log)
    assert (
        not result.ok
        and result.first_bad_seq == 6
        and f"head marker vouches for {head.describe()}" in result.message
    )


def test_marker_trailing_the_log_after_a_crash_is_not_tampering(log: AuditLog) -> None:
    fill(log, 3)
    fill(AuditLog(log.url), 2)  # committed, but the process died before moving the marker
    assert vouched(log).seq == 3 and verify_chain(log).ok
    event = append_one(log)
    assert vouched(log) == HeadMark(6, str(event["hash"])) and verify_chain(log).checked == 6


def test_a_late_appender_never_moves_the_marker_back(tmp_path: Path) -> None:
    anchor = LocalObjectStore(tmp_path / "anchor")
    AuditLog._advance_marker(anchor, HeadMark(6, "6" * 64))
    AuditLog._advance_marker(anchor, HeadMark(5, "5" * 64))  # committed before 6, arrived after it
    assert anchor.get(HEAD_ANCHOR_KEY).data == HeadMark(6, "6" * 64).to_bytes()  # type: ignore[union-attr]
    assert anchor.get(history_key(5)) is not None
    with pytest.raises(AuditLogError, match="already vouches for seq 5"):
        AuditLog._advance_marker(anchor, HeadMark(5, "f" * 64))


def test_unreadable_marker_is_one_clear_error(log: AuditLog, tmp_path: Path) -> None:
    fill(log, 2)
    (tmp_path / "anchor" / HEAD_ANCHOR_KEY).write_bytes(b"\x00garbage")
    with pytest.raises(AuditLogError, match="head marker unreadable"):
        append_one(log)
    with pytest.raises(AuditLogError, match="head marker unreadable"):
        verify_chain(log)
