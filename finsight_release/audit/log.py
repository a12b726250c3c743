"""The audit log: an append-only, hash-chained table in SQLite (default) or PostgreSQL (by URL).

Append-only is enforced three ways: the code has no update or delete path; database triggers
reject UPDATE and DELETE; and every event carries the hash of the one before, so any edit that gets
past the triggers (a superuser dropping them) breaks the chain, which ``verify_chain`` detects.
Concurrent writers are serialized inside the database (SQLite ``BEGIN IMMEDIATE``, PostgreSQL
``pg_advisory_xact_lock``), so the chain never forks. Events leave the log only through a prune
(``audit/prune.py``): events older than the retention (90 days at least, SOX) are first exported as an
evidence bundle, then a *prune anchor* (the first kept seq and the hash of the last pruned event) is
written create-only to the anchor store and to ``audit_prune_anchors``, and only then are they deleted
in one transaction that lifts the delete trigger for itself alone. The remaining chain verifies from
the anchor instead of the genesis hash.

The head marker catches what the chain alone cannot: deleting the newest events, or the whole
database. With an anchor store, ``audit/head.json`` holds the (seq, hash) of an appended event and
moves only forward, by compare-and-swap; each value is also written create-only (on S3 with Object
Lock retention) to ``audit/head-history/<seq>.json``. An append first checks that the database still
holds the event the marker vouches for and that no history entry exists for the seq it is about to
use; otherwise it refuses and writes nothing. The first append of an install (empty log, no marker, no
history) creates a seq-0 marker, vouching for the empty log, before its event; from then on a marker
always exists, so a missing one is tampering, not a fresh install.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from finsight_release.audit.event import GENESIS_HASH, canonical_json, event_hash
from finsight_release.errors import AuditLogError, FinsightError, StaleCasTokenError
from finsight_release.observe.correlation import audit_correlation
from finsight_release.store.base import ObjectStore

HEAD_ANCHOR_KEY = "audit/head.json"
HEAD_HISTORY_PREFIX = "audit/head-history/"
# SOX keeps evidence at least 90 days; S3 Object Lock enforces it on every marker history object.
HEAD_HISTORY_RETENTION = timedelta(days=90)

# Each lost CAS means another appender moved the marker, so a run of losses this long means churn
# that is not appends (a writer fighting the marker); give up with a clear error instead of spinning.
_MARKER_CAS_ATTEMPTS = 100

# Arbitrary constant key of the PostgreSQL advisory lock that serializes appends.
_PG_LOCK_KEY = 7_310_551_042

COLUMNS = "seq, event_id, ts, actor, action, release_id, environment, digests, outcome, details, prev_hash, hash"

PRUNE_ANCHOR_PREFIX = "audit/prune-anchors/"
_ANCHOR_COLUMNS = "first_seq, prev_hash, pruned_before, export, manifest_sha256, at"
_SQLITE_NO_DELETE = """create trigger if not exists audit_events_no_delete before delete on audit_events
        begin select raise(abort, 'audit_events is append-only'); end"""
_PG_NO_CHANGE = """create trigger audit_events_no_change before update or delete on audit_events
        for each statement execute function audit_events_append_only()"""

_SQLITE_DDL = (
    """create table if not exists audit_events (
        seq integer primary key, event_id text not null unique, ts text not null, actor text not null,
        action text not null, release_id text, environment text, digests text not null,
        outcome text not null, details text not null, prev_hash text not null, hash text not null)""",
    """create trigger if not exists audit_events_no_update before update on audit_events
        begin select raise(abort, 'audit_events is append-only'); end""",
    _SQLITE_NO_DELETE,
    """create table if not exists audit_prune_anchors (
        first_seq integer primary key, prev_hash text not null, pruned_before text not null,
        export text not null, manifest_sha256 text not null, at text not null)""",
    """create trigger if not exists audit_prune_anchors_no_change before update on audit_prune_anchors
        begin select raise(abort, 'audit_prune_anchors is append-only'); end""",
    """create trigger if not exists audit_prune_anchors_no_delete before delete on audit_prune_anchors
        begin select raise(abort, 'audit_prune_anchors is append-only'); end""",
)
_PG_DDL = (
    """create table if not exists audit_events (
        seq bigint primary key, event_id text not null unique, ts text not null, actor text not null,
        action text not null, release_id text, environment text, digests text not null,
        outcome text not null, details text not null, prev_hash text not null, hash text not null)""",
    """create or replace function audit_events_append_only() returns trigger language plpgsql as $$
        begin raise exception 'audit_events is append-only'; end $$""",
    "drop trigger if exists audit_events_no_change on audit_events",
    _PG_NO_CHANGE,
    """create table if not exists audit_prune_anchors (
        first_seq bigint primary key, prev_hash text not null, pruned_before text not null,
        export text not null, manifest_sha256 text not null, at text not null)""",
    "drop trigger if exists audit_prune_anchors_no_change on audit_prune_anchors",
    """create trigger audit_prune_anchors_no_change before update or delete on audit_prune_anchors
        for each statement execute function audit_events_append_only()""",
)


@dataclass(frozen=True)
class PruneAnchor:
    """Where the log begins after a prune: the first kept seq and the hash of the last pruned event
    (the first kept event's ``prev_hash``), with the cut-off and the evidence bundle that holds the
    pruned events (its location and manifest sha256)."""

    first_seq: int
    prev_hash: str
    pruned_before: str
    export: str
    manifest_sha256: str
    at: str

    def to_bytes(self) -> bytes:
        """The stored form, canonical JSON."""
        return canonical_json(self.__dict__).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> PruneAnchor:
        """Parse the stored form; AuditLogError when it is not one."""
        try:
            return cls(**json.loads(data))
        except (ValueError, TypeError) as exc:
            raise AuditLogError(f"prune anchor unreadable: {data[:40]!r}") from exc

    def describe(self) -> str:
        """``events before seq N (hash prefix of the last pruned one)``."""
        return f"events before seq {self.first_seq} (last pruned hash {self.prev_hash[:12]})"


def prune_anchor_key(first_seq: int) -> str:
    """The create-only, retained anchor-store object of the prune that kept ``first_seq`` onward."""
    return f"{PRUNE_ANCHOR_PREFIX}{first_seq:012d}.json"


@dataclass(frozen=True)
class HeadMark:
    """An event vouched for outside the database: its seq and hash (seq 0: the empty log)."""

    seq: int
    hash: str

    def describe(self) -> str:
        """``seq N (hash prefix)``, how messages name the vouched event."""
        return f"seq {self.seq} ({self.hash[:12]})"

    def to_bytes(self) -> bytes:
        """The stored form, canonical JSON."""
        return canonical_json({"seq": self.seq, "hash": self.hash}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> HeadMark:
        """Parse the stored form; AuditLogError when it is not one (a tampered or truncated marker)."""
        try:
            value = json.loads(data)
            return cls(int(value["seq"]), str(value["hash"]))
        except (ValueError, TypeError, KeyError) as exc:
            raise AuditLogError(
                f"audit head marker unreadable ({type(exc).__name__}): {data[:40]!r}"
            ) from exc


def history_key(seq: int) -> str:
    """The create-only history object of the marker value for ``seq`` (zero-padded: keys sort by seq)."""
    return f"{HEAD_HISTORY_PREFIX}{seq:012d}.json"


def _sqlite_engine(url: str) -> Engine:
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Autocommit at the driver, explicit BEGIN IMMEDIATE on begin: the SQLAlchemy recipe for
    # taking SQLite's write lock at the start of the transaction instead of at the first write.
    engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30})

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class AuditLog:
    """Append and read audit events at ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""

    def __init__(self, url: str, anchor: ObjectStore | None = None) -> None:
        self.url = url
        self.anchor = anchor
        self.is_sqlite = url.startswith("sqlite")
        try:
            self.engine = (
                _sqlite_engine(url) if self.is_sqlite else create_engine(url, pool_pre_ping=True)
            )
            with self.engine.begin() as conn:
                if not self.is_sqlite:
                    conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                for ddl in _SQLITE_DDL if self.is_sqlite else _PG_DDL:
                    conn.exec_driver_sql(ddl)
        except Exception as exc:  # noqa: BLE001 - any driver error means the log is unusable
            raise AuditLogError(
                f"audit log {self.safe_url} unavailable: {str(exc).splitlines()[0]}"
            ) from exc

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        return (
            self.engine.url.render_as_string(hide_password=True)
            if hasattr(self, "engine")
            else "(unopened)"
        )

    def append(
        self,
        *,
        actor: str,
        action: str,
        outcome: str,
        release_id: str | None = None,
        environment: str | None = None,
        digests: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one event after the current head; returns the stored event (with seq and hash).

        The operation and Dagster run ids bound in the log context go into ``details`` too (unless the
        caller set them), so every event of an operation can be found by either id.
        """
        fields: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": str(action),
            "release_id": release_id,
            "environment": environment,
            "digests": dict(digests or {}),
            "outcome": outcome,
            "details": json.loads(canonical_json({**audit_correlation(), **(details or {})})),
        }
        try:
            with self.engine.begin() as conn:
                if not self.is_sqlite:
                    conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                head = conn.execute(
                    text("select seq, hash from audit_events order by seq desc limit 1")
                ).first()
                fields["seq"] = (head[0] + 1) if head else 1
                fields["prev_hash"] = head[1] if head else GENESIS_HASH
                if self.anchor is not None:
                    # Under the database's write lock, so no other appender moves the log meanwhile.
                    self._refuse_if_behind_marker(conn, self.anchor, fields["seq"] - 1)
                fields["hash"] = event_hash(fields)
                row = {
                    **fields,
                    "digests": canonical_json(fields["digests"]),
                    "details": canonical_json(fields["details"]),
                }
                conn.execute(
                    text(
                        f"insert into audit_events ({COLUMNS}) values (:seq, :event_id, :ts, :actor, :action, "
                        ":release_id, :environment, :digests, :outcome, :details, :prev_hash, :hash)"
                    ),
                    row,
                )
        except FinsightError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise AuditLogError(
                f"audit log {self.safe_url}: append failed: {str(exc).splitlines()[0]}"
            ) from exc
        if self.anchor is not None:
            # After the commit: a crash in between leaves the marker trailing the log (its newest
            # events unvouched until the next append), never vouching for an event that does not exist.
            self._advance_marker(self.anchor, HeadMark(fields["seq"], fields["hash"]))
        return fields

    def _refuse(self, reason: str) -> AuditLogError:
        return AuditLogError(
            f"audit log {self.safe_url}: refusing to append: {reason}; nothing written "
            "(restore the log from backup; `finsight-release audit verify` names the gap)"
        )

    def _refuse_if_behind_marker(self, conn: Any, anchor: ObjectStore, last_seq: int) -> None:
        """Raise unless the log still holds what the marker vouches for (the log may be ahead of it)."""
        marker_obj = anchor.get(HEAD_ANCHOR_KEY)
        if marker_obj is None:
            newest = self._newest_history(anchor)
            if newest is not None:
                raise self._refuse(
                    f"{HEAD_ANCHOR_KEY} is missing but its history vouches for {newest.describe()}"
                )
            if last_seq > 0:
                raise self._refuse(
                    f"the log holds events up to seq {last_seq} but no head marker vouches for them"
                )
            # A fresh install: vouch for the empty log, create-only, before the first event exists.
            genesis = HeadMark(0, GENESIS_HASH)
            if anchor.put_if_absent(HEAD_ANCHOR_KEY, genesis.to_bytes()):
                anchor.put_retained(
                    history_key(0), genesis.to_bytes(), datetime.now(UTC) + HEAD_HISTORY_RETENTION
                )
            marker_obj = anchor.get(HEAD_ANCHOR_KEY)
            if marker_obj is None:
                raise self._refuse(f"{HEAD_ANCHOR_KEY} vanished while it was being created")
        marker = HeadMark.from_bytes(marker_obj.data)
        if marker.seq > 0:
            stored = conn.execute(
                text("select hash from audit_events where seq = :s"), {"s": marker.seq}
            ).first()
            if stored is None:
                raise self._refuse(
                    f"the head marker vouches for {marker.describe()} but the log ends at seq {last_seq}"
                    " (newest events deleted or database replaced)"
                )
            if stored[0] != marker.hash:
                raise self._refuse(
                    f"the head marker vouches for {marker.describe()} but the log's event {marker.seq} has hash "
                    f"{stored[0][:12]} (chain rewritten)"
                )
        # The seq about to be used must never have been vouched for: catches a marker put back to an
        # older value together with a log truncated to match it.
        taken = anchor.get_retained(history_key(last_seq + 1))
        if taken is not None:
            raise self._refuse(
                f"the head marker history vouches for {HeadMark.from_bytes(taken.data).describe()} but the log "
                f"ends at seq {last_seq} (newest events deleted and the marker moved back)"
            )

    @staticmethod
    def _advance_marker(anchor: ObjectStore, mark: HeadMark) -> None:
        """Move the marker to ``mark`` by compare-and-swap, never backwards, then record it in the history.

        Concurrent appenders commit in seq order but may reach this point in any order: one that finds
        the marker already at or past its seq leaves it alone.
        """
        for _attempt in range(_MARKER_CAS_ATTEMPTS):
            current = anchor.get(HEAD_ANCHOR_KEY)
            if current is not None and HeadMark.from_bytes(current.data).seq >= mark.seq:
                break
            try:
                anchor.put_if_match(
                    HEAD_ANCHOR_KEY, mark.to_bytes(), current.etag if current else None
                )
                break
            except StaleCasTokenError:
                continue  # another appender moved it; re-read and compare again
        else:
            raise AuditLogError(
                f"audit head marker not moved to {mark.describe()}: lost {_MARKER_CAS_ATTEMPTS} compare-and-swaps "
                "in a row (the event is recorded; the next append moves the marker past it)"
            )
        # History after the marker: the marker is then always at or past the newest history entry.
        key = history_key(mark.seq)
        if not anchor.put_retained(
            key, mark.to_bytes(), datetime.now(UTC) + HEAD_HISTORY_RETENTION
        ):
            existing = anchor.get_retained(key)
            if existing is not None and HeadMark.from_bytes(existing.data) != mark:
                raise AuditLogError(
                    f"audit head history {key} already vouches for "
                    f"{HeadMark.from_bytes(existing.data).describe()}, not {mark.describe()} (log rewritten)"
                )

    @staticmethod
    def _newest_history(anchor: ObjectStore) -> HeadMark | None:
        keys = [k for k in anchor.list_retained(HEAD_HISTORY_PREFIX) if k.endswith(".json")]
        if not keys:
            return None
        newest = anchor.get_retained(max(keys))
        return HeadMark.from_bytes(newest.data) if newest is not None else None

    def anchored_head(self) -> tuple[int, str] | None:
        """The (seq, hash) the head marker in the anchor store vouches for, or None."""
        obj = self.anchor.get(HEAD_ANCHOR_KEY) if self.anchor is not None else None
        if obj is None:
            return None
        marker = HeadMark.from_bytes(obj.data)
        return marker.seq, marker.hash

    def head_marks(self) -> tuple[HeadMark | None, HeadMark | None]:
        """The head marker and the newest entry of its history (each None when absent or unanchored)."""
        if self.anchor is None:
            return None, None
        obj = self.anchor.get(HEAD_ANCHOR_KEY)
        return (HeadMark.from_bytes(obj.data) if obj else None), self._newest_history(self.anchor)

    def prune_anchor(self) -> PruneAnchor | None:
        """The newest prune anchor the database records (``audit_prune_anchors``): where the log now
        begins. With an anchor store, :func:`verify_chain` checks the store holds the same anchor."""
        with self.engine.connect() as conn:
            row: Any = conn.execute(
                text(
                    f"select {_ANCHOR_COLUMNS} from audit_prune_anchors "
                    "order by first_seq desc limit 1"
                )
            ).first()
        if row is None:
            return None
        first_seq, prev_hash, pruned_before, export, manifest_sha256, at = row
        return PruneAnchor(int(first_seq), prev_hash, pruned_before, export, manifest_sha256, at)

    def stored_prune_anchor(self) -> PruneAnchor | None:
        """The newest prune anchor in the anchor store (None without one, or before any prune)."""
        if self.anchor is None:
            return None
        keys = [k for k in self.anchor.list_retained(PRUNE_ANCHOR_PREFIX) if k.endswith(".json")]
        obj = self.anchor.get_retained(max(keys)) if keys else None
        return PruneAnchor.from_bytes(obj.data) if obj is not None else None

    def prune(self, anchor: PruneAnchor) -> int:
        """Delete every event before ``anchor.first_seq``, recording ``anchor`` first; returns how many.

        The anchor goes to the anchor store (create-only, retained) before the database changes, so
        a crash in between leaves a log that still verifies from the genesis hash and an anchor that
        a re-run finds equal. In the database, one transaction under the append lock checks that the
        event at ``first_seq`` still chains to ``prev_hash``, records the anchor, lifts the delete
        trigger, deletes, and puts the trigger back: no other session ever sees the table deletable.
        """
        self._check_chains_to(anchor)  # before the anchor store holds an anchor that does not fit
        if self.anchor is not None:
            key = prune_anchor_key(anchor.first_seq)
            retain = datetime.now(UTC) + HEAD_HISTORY_RETENTION
            if not self.anchor.put_retained(key, anchor.to_bytes(), retain):
                existing = self.anchor.get_retained(key)
                stored = PruneAnchor.from_bytes(existing.data) if existing else None
                if stored is None or (stored.first_seq, stored.prev_hash) != (
                    anchor.first_seq,
                    anchor.prev_hash,
                ):
                    raise AuditLogError(f"{key} already holds another prune anchor; nothing pruned")
                anchor = stored  # a prune that stopped before its delete: finish with its anchor
        try:
            with self.engine.begin() as conn:
                if not self.is_sqlite:
                    conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                self._check_chains_to(anchor, conn)
                recorded = conn.execute(
                    text("select 1 from audit_prune_anchors where first_seq = :s"),
                    {"s": anchor.first_seq},
                ).first()
                if recorded is None:
                    conn.execute(
                        text(
                            f"insert into audit_prune_anchors ({_ANCHOR_COLUMNS}) values (:first_seq, "
                            ":prev_hash, :pruned_before, :export, :manifest_sha256, :at)"
                        ),
                        anchor.__dict__,
                    )
                if self.is_sqlite:
                    conn.exec_driver_sql("drop trigger audit_events_no_delete")
                else:
                    conn.exec_driver_sql("drop trigger audit_events_no_change on audit_events")
                deleted = conn.execute(
                    text("delete from audit_events where seq < :s"), {"s": anchor.first_seq}
                ).rowcount
                conn.exec_driver_sql(_SQLITE_NO_DELETE if self.is_sqlite else _PG_NO_CHANGE)
        except FinsightError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise AuditLogError(
                f"audit log {self.safe_url}: prune failed: {str(exc).splitlines()[0]}"
            ) from exc
        return int(deleted)

    def _check_chains_to(self, anchor: PruneAnchor, conn: Any = None) -> None:
        """Raise unless the event at ``anchor.first_seq`` has the anchor's hash as its prev_hash."""
        sql = text("select prev_hash from audit_events where seq = :s")
        if conn is None:
            with self.engine.connect() as own:
                kept = own.execute(sql, {"s": anchor.first_seq}).first()
        else:
            kept = conn.execute(sql, {"s": anchor.first_seq}).first()
        if kept is None or kept[0] != anchor.prev_hash:
            raise AuditLogError(
                f"audit log {self.safe_url}: event {anchor.first_seq} does not chain to the prune "
                f"anchor ({anchor.prev_hash[:12]}); nothing pruned"
            )

    def rows(self, batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """Every stored row in seq order, streamed (columns as in ``COLUMNS``)."""
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=batch).execute(
                text(f"select {COLUMNS} from audit_events order by seq")
            )
            yield from result

    def events_between(self, start: str, end: str) -> list[dict[str, Any]]:
        """Every event from the first stamped at or after ``start`` to the last stamped at or before
        ``end`` (ISO timestamps), in seq order and without gaps, so the slice verifies as a chain."""
        with self.engine.connect() as conn:
            bounds: Any = conn.execute(
                text("select min(seq), max(seq) from audit_events where ts >= :a and ts <= :b"),
                {"a": start, "b": end},
            ).one()
        low, high = bounds
        return [] if low is None else self.events_in(int(low), int(high))

    def events_in(self, first_seq: int, last_seq: int) -> list[dict[str, Any]]:
        """The events ``first_seq``..``last_seq`` (inclusive), in seq order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"select {COLUMNS} from audit_events where seq between :l and :h order by seq"
                ),
                {"l": first_seq, "h": last_seq},
            ).all()
        return [_event_dict(row) for row in rows]

    def events(
        self,
        release_id: str | None = None,
        environment: str | None = None,
        action: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Events matching the filters, newest first."""
        clauses, params = [], {}
        for name, value in (
            ("release_id", release_id),
            ("environment", environment),
            ("action", action),
        ):
            if value is not None:
                clauses.append(f"{name} = :{name}")
                params[name] = value
        where = f"where {' and '.join(clauses)}" if clauses else ""
        sql = f"select {COLUMNS} from audit_events {where} order by seq desc" + (
            f" limit {int(limit)}" if limit else ""
        )
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), params).all()
        return [_event_dict(row) for row in rows]


def _event_dict(row: Any) -> dict[str, Any]:
    """A stored row as an event: its columns by name, digests and details parsed."""
    return {
        **dict(zip(COLUMNS.split(", "), row, strict=True)),
        "digests": json.loads(row[7]),
        "details": json.loads(row[9]),
    }
