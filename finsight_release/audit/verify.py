"""Verification of the audit hash chain: names the first modified, deleted, inserted or reordered event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from finsight_release.audit.event import GENESIS_HASH
from finsight_release.audit.log import (
    HEAD_ANCHOR_KEY,
    AuditLog,
    HeadMark,
    PruneAnchor,
    prune_anchor_key,
)

_dump = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a verification: ``ok``, how many events were checked, and the first problem."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    first_bad_event: str | None = None
    problem: str | None = None
    first_seq: int = 1  # after a prune: the first kept event, verified from the prune anchor

    @property
    def message(self) -> str:
        """One line: the count when intact, else the first bad event (or the head problem) and why."""
        if self.ok:
            pruned = (
                f" (from seq {self.first_seq}: earlier events pruned, chained to the prune anchor)"
                if self.first_seq > 1
                else ""
            )
            return f"{self.checked} events, chain intact{pruned}"
        if self.first_bad_seq is None:
            return str(self.problem)
        event = f" ({self.first_bad_event})" if self.first_bad_event else ""
        return f"first bad event: seq {self.first_bad_seq}{event}: {self.problem}"


def row_payload(row: tuple[Any, ...]) -> bytes:
    """Canonical JSON of a stored row, byte-identical to ``canonical_json`` of the appended fields.

    Built by hand from the stored text (digests and details are already canonical JSON), so the
    hot loop never parses JSON: keys in sorted order, like ``json.dumps(sort_keys=True)``.
    """
    (
        seq,
        event_id,
        ts,
        actor,
        action,
        release_id,
        environment,
        digests,
        outcome,
        details,
        prev_hash,
    ) = row[:11]
    return (
        f'{{"action":{_dump(action)},"actor":{_dump(actor)},"details":{details},"digests":{digests},'
        f'"environment":{_dump(environment)},"event_id":{_dump(event_id)},"outcome":{_dump(outcome)},'
        f'"prev_hash":{_dump(prev_hash)},"release_id":{_dump(release_id)},"seq":{seq},"ts":{_dump(ts)}}}'
    ).encode()


def verify_chain(log: AuditLog, progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Walk the chain in seq order and return the first inconsistency.

    - a missing seq number: an event was deleted;
    - a stored hash that does not match the content: the event was modified (or moved to another seq);
    - a prev_hash that is not the previous event's hash: an event was inserted or the order changed;
    - against the head marker kept outside the database (when the log has an anchor store): a log
      shorter than the newest event the marker or its history vouches for, or another hash at that
      seq (newest events deleted, database replaced, chain rewritten); a marker missing while the log
      has events or the marker has a history (marker deleted); a marker behind its own history
      (marker moved back). An install with no events, no marker and no history is fresh, not tampered.
    - after a prune (``audit/prune.py``): the log begins at the prune anchor's first seq, whose
      ``prev_hash`` must be the anchor's; the database's anchor must be the one the anchor store
      holds (a forged anchor hiding deleted events is caught). Events still present before an anchor
      the store holds (a prune that stopped before its delete) verify from the genesis hash.
    Head problems name the newest vouched event by seq and hash prefix.
    """
    start = log.prune_anchor()
    stored = log.stored_prune_anchor()
    if log.anchor is not None and start is not None:
        vouched_start = log.anchor.get_retained(prune_anchor_key(start.first_seq))
        if vouched_start is None or PruneAnchor.from_bytes(vouched_start.data) != start:
            return _head_problem(
                0,
                f"the log's prune anchor ({start.describe()}) is not the one the anchor store "
                "holds (anchor forged or events deleted)",
            )
    pending = stored if stored is not None and stored != start else None
    marker, history = log.head_marks()
    marks = [m for m in (marker, history) if m is not None]
    vouched = max(marks, key=lambda m: m.seq, default=None)
    if (
        marker is not None
        and history is not None
        and marker.seq == history.seq
        and marker.hash != history.hash
    ):
        return _head_problem(
            0,
            f"the head marker {marker.describe()} disagrees with its history {history.describe()}",
        )
    expected = {m.seq: m for m in marks if m.seq > 0}
    first_seq, prev = (start.first_seq, start.prev_hash) if start else (1, GENESIS_HASH)
    expected_seq, count = first_seq, 0
    sha256 = hashlib.sha256
    for row in log.rows():
        seq, stored_prev, stored_hash = row[0], row[10], row[11]
        problem = None
        if seq != expected_seq:
            problem = (
                f"gap: seq {expected_seq} missing (event deleted)"
                if seq > expected_seq
                else f"seq {seq} out of order (event inserted or reordered)"
            )
        elif sha256(row_payload(row)).hexdigest() != stored_hash:
            problem = "hash mismatch: content modified (or event moved)"
        elif stored_prev != prev:
            problem = "prev_hash does not match the previous event (event inserted or reordered)"
        elif seq in expected and stored_hash != expected[seq].hash:
            problem = f"hash {stored_hash[:12]}, but the head marker vouches for {expected[seq].describe()} (rewritten)"
        elif pending is not None and seq == pending.first_seq and stored_prev != pending.prev_hash:
            problem = (
                f"prev_hash {stored_prev[:12]}, but the prune anchor says {pending.describe()}"
            )
        if problem:
            return VerifyResult(False, count, seq, row[1], problem, first_seq)
        prev, expected_seq, count = stored_hash, expected_seq + 1, count + 1
        if progress and seq % 10_000 == 0:
            progress(seq)
    last_seq = expected_seq - 1
    if log.anchor is not None and marker is None:
        if history is not None:
            return _head_problem(
                count,
                f"{HEAD_ANCHOR_KEY} missing but its history vouches for {history.describe()} (marker deleted)",
            )
        if count > 0:
            return _head_problem(
                count,
                f"{HEAD_ANCHOR_KEY} is missing and no marker history vouches for any of the {count} events"
                " (marker and its history deleted)",
            )
    if vouched is not None and last_seq < vouched.seq:
        return _head_problem(
            count,
            f"the head marker vouches for {vouched.describe()} but the log ends at seq {last_seq}"
            " (newest events deleted or database replaced)",
        )
    if marker is not None and history is not None and history.seq > marker.seq:
        return _head_problem(
            count,
            f"the head marker vouches for {marker.describe()} but its history for {history.describe()} (moved back)",
        )
    return VerifyResult(True, count, first_seq=first_seq)


def chain_record(log: AuditLog, chain: VerifyResult) -> dict[str, Any]:
    """What an evidence bundle's ``chain.json`` says about the whole log at export time: the
    verification's outcome and the head marker and its newest history entry."""
    marker, history = log.head_marks()
    return {
        "ok": chain.ok,
        "checked": chain.checked,
        "message": chain.message,
        "head_marker": marker.__dict__ if marker else None,
        "head_history": history.__dict__ if history else None,
    }


def _head_problem(checked: int, problem: str) -> VerifyResult:
    return VerifyResult(False, checked, None, None, problem)


__all__ = ["HeadMark", "VerifyResult", "chain_record", "row_payload", "verify_chain"]
