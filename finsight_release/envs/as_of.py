"""What ran where at a past instant, answered from the pointer history and the audit log.

The pointer history has one entry per move, stamped when the pointer swapped; the entry in force at
an instant is the newest one stamped at or before it. Its go-live audit event (the ``promote`` or
``rollback`` with the entry's operation id and outcome ``ok``) is the evidence: the artifact digests
as audited, the actor, and the event's chain position (seq, hash).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from finsight_release.envs.environment import Environment
from finsight_release.envs.pointer import EnvPointer
from finsight_release.errors import InstantOutOfRangeError

if TYPE_CHECKING:
    from finsight_release.audit.log import PruneAnchor

# SOX evidence is kept 90 days: the window in which an as-of answer is guaranteed to be complete.
RETENTION = timedelta(days=90)


@dataclass(frozen=True)
class RanAt:
    """What ``environment`` ran at ``at``: the release, since when, who put it there, and the evidence."""

    environment: Environment
    at: datetime
    release_id: str | None
    since: datetime | None
    actor: str | None
    operation: str | None
    operation_id: str | None
    digests: dict[str, str]
    # the go-live audit event (seq, hash, ts, action), or after a prune the bundle that holds it
    evidence: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "environment": str(self.environment),
            "at": self.at.isoformat(),
            "release_id": self.release_id,
            "since": self.since.isoformat() if self.since else None,
            "actor": self.actor,
            "operation": self.operation,
            "operation_id": self.operation_id,
            "digests": self.digests,
            "evidence": self.evidence,
        }


def parse_instant(text: str, now: datetime | None = None) -> datetime:
    """``text`` (ISO 8601; no zone means UTC) as an aware UTC datetime inside the retention window."""
    now = now or datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InstantOutOfRangeError(
            f"timestamp {text!r} is not ISO 8601 (e.g. 2026-11-20T01:30:00Z)"
        ) from None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value > now:
        raise InstantOutOfRangeError(
            f"timestamp {value.isoformat()} is in the future (now {now.isoformat(timespec='seconds')})"
        )
    if value < now - RETENTION:
        raise InstantOutOfRangeError(
            f"timestamp {value.isoformat()} is before the {RETENTION.days}-day retention window "
            f"(earliest {(now - RETENTION).isoformat(timespec='seconds')})"
        )
    return value


def _entry_at(history: list[EnvPointer], at: datetime) -> EnvPointer | None:
    stamps = [entry.updated_at for entry in history]
    index = bisect.bisect_right(stamps, at)
    return history[index - 1] if index else None


def ran_at(
    env: Environment,
    at: datetime,
    history: list[EnvPointer],
    go_live_events: list[dict[str, Any]],
    manifest_digests: dict[str, dict[str, str]] | None = None,
    pruned: PruneAnchor | None = None,
) -> RanAt:
    """What ``env`` ran at ``at``, from its pointer ``history`` (oldest first) and the ``go_live_events``
    (its ``promote``/``rollback`` audit events with outcome ``ok``); ``manifest_digests`` fills in
    digests for a release whose go-live event is missing (a pointer moved before auditing existed).
    A go-live older than the audit log's prune anchor ``pruned`` is evidenced by the bundle the
    prune exported it to (its location, manifest sha256 and the operation id to find it by)."""
    entry = _entry_at(sorted(history, key=lambda p: p.seq), at)
    if entry is None or entry.release_id is None:
        return RanAt(env, at, None, None, None, None, None, {}, None)
    event = next(
        (
            e
            for e in go_live_events
            if e["details"].get("operation_id") == entry.operation_id
            and e["release_id"] == entry.release_id
        ),
        None,
    )
    evidence = {k: event[k] for k in ("seq", "hash", "ts", "action", "actor")} if event else None
    if event is None and pruned is not None and entry.updated_at is not None:
        if entry.updated_at < datetime.fromisoformat(pruned.pruned_before):
            evidence = {
                "pruned_to": pruned.export,
                "manifest_sha256": pruned.manifest_sha256,
                "operation_id": entry.operation_id,
                "before_seq": pruned.first_seq,
            }
    digests = dict(event["digests"]) if event and event["digests"] else {}
    if not digests and manifest_digests:
        digests = dict(manifest_digests.get(entry.release_id, {}))
    return RanAt(
        environment=env,
        at=at,
        release_id=entry.release_id,
        since=entry.updated_at,
        actor=entry.actor,
        operation=entry.operation,
        operation_id=entry.operation_id,
        digests=digests,
        evidence=evidence,
    )
