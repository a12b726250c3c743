"""The audit log: an append-only, hash-chained table in SQLite (default) or PostgreSQL (by URL).

Append-only is enforced three ways: the code has no update or delete path; database triggers
reject UPDATE and DELETE; and every event carries the hash of the one before, so any edit that gets
past the triggers (a superuser dropping them) breaks the chain, which ``verify_chain`` detects.
Concurrent writers are serialized inside the database (SQLite ``BEGIN IMMEDIATE``, PostgreSQL
``pg_advisory_xact_lock``), so the chain never forks. Events are never purged by this tool: SOX needs
at least 90 days, and retention beyond that is the database's backup policy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from finsight_release.audit.event import GENESIS_HASH, canonical_json, event_hash
from finsight_release.errors import FinsightError
from finsight_release.store.base import ObjectStore

HEAD_ANCHOR_KEY = "audit/head.json"

# Arbitrary constant key of the PostgreSQL advisory lock that serializes appends.
_PG_LOCK_KEY = 7_310_551_042

COLUMNS = "seq, event_id, ts, actor, action, release_id, environment, digests, outcome, details, prev_hash, hash"

_SQLITE_DDL = (
    """create table if not exists audit_events (
        seq integer primary key, event_id text not null unique, ts text not null, actor text not null,
        action text not null, release_id text, environment text, digests text not null,
        outcome text not null, details text not null, prev_hash text not null, hash text not null)""",
    """create trigger if not exists audit_events_no_update before update on audit_events
        begin select raise(abort, 'audit_events is append-only'); end""",
    """create trigger if not exists audit_events_no_delete before delete on audit_events
        begin select raise(abort, 'audit_events is append-only'); end""",
)
_PG_DDL = (
    """create table if not exists audit_events (
        seq bigint primary key, event_id text not null unique, ts text not null, actor text not null,
        action text not null, release_id text, environment text, digests text not null,
        outcome text not null, details text not null, prev_hash text not null, hash text not null)""",
    """create or replace function audit_events_append_only() returns trigger language plpgsql as $$
        begin raise exception 'audit_events is append-only'; end $$""",
    "drop trigger if exists audit_events_no_change on audit_events",
    """create trigger audit_events_no_change before update or delete on audit_events
        for each statement execute function audit_events_append_only()""",
)


class AuditLogError(FinsightError):
    """The audit log cannot be opened or written."""


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
            self.engine = _sqlite_engine(url) if self.is_sqlite else create_engine(url, pool_pre_ping=True)
            with self.engine.begin() as conn:
                if not self.is_sqlite:
                    conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                for ddl in _SQLITE_DDL if self.is_sqlite else _PG_DDL:
                    conn.exec_driver_sql(ddl)
        except Exception as exc:  # noqa: BLE001 - any driver error means the log is unusable
            raise AuditLogError(f"audit log {self.safe_url} unavailable: {str(exc).splitlines()[0]}") from exc

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        return self.engine.url.render_as_string(hide_password=True) if hasattr(self, "engine") else "(unopened)"

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
        """Append one event after the current head; returns the stored event (with seq and hash)."""
        fields: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": str(action),
            "release_id": release_id,
            "environment": environment,
            "digests": dict(digests or {}),
            "outcome": outcome,
            "details": json.loads(canonical_json(details or {})),
        }
        try:
            with self.engine.begin() as conn:
                if not self.is_sqlite:
                    conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                head = conn.execute(text("select seq, hash from audit_events order by seq desc limit 1")).first()
                fields["seq"] = (head[0] + 1) if head else 1
                fields["prev_hash"] = head[1] if head else GENESIS_HASH
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
        except Exception as exc:  # noqa: BLE001
            raise AuditLogError(f"audit log {self.safe_url}: append failed: {str(exc).splitlines()[0]}") from exc
        if self.anchor is not None:
            # The head, kept outside the database: deleting the newest events is then detectable too.
            self.anchor.put(HEAD_ANCHOR_KEY, canonical_json({"seq": fields["seq"], "hash": fields["hash"]}).encode())
        return fields

    def anchored_head(self) -> tuple[int, str] | None:
        """The (seq, hash) last written to the anchor store, or None."""
        obj = self.anchor.get(HEAD_ANCHOR_KEY) if self.anchor is not None else None
        if obj is None:
            return None
        head = json.loads(obj.data)
        return int(head["seq"]), str(head["hash"])

    def rows(self, batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """Every stored row in seq order, streamed (columns as in ``COLUMNS``)."""
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=batch).execute(
                text(f"select {COLUMNS} from audit_events order by seq")
            )
            yield from result

    def events(
        self,
        release_id: str | None = None,
        environment: str | None = None,
        action: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Events matching the filters, newest first."""
        clauses, params = [], {}
        for name, value in (("release_id", release_id), ("environment", environment), ("action", action)):
            if value is not None:
                clauses.append(f"{name} = :{name}")
                params[name] = value
        where = f"where {' and '.join(clauses)}" if clauses else ""
        sql = f"select {COLUMNS} from audit_events {where} order by seq desc" + (
            f" limit {int(limit)}" if limit else ""
        )
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), params).all()
        names = COLUMNS.split(", ")
        return [
            {**dict(zip(names, row, strict=True)), "digests": json.loads(row[7]), "details": json.loads(row[9])}
            for row in rows
        ]
