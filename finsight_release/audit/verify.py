"""Verification of the audit hash chain: names the first modified, deleted, inserted or reordered event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from finsight_release.audit.event import GENESIS_HASH
from finsight_release.audit.log import HEAD_ANCHOR_KEY, AuditLog, HeadMark

_dump = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a verification: ``ok``, how many events were checked, and the first problem."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    first_bad_event: str | None = None
    problem: str | None = None

    @property
    def message(self) -> str:
        """One line: the count when intact, else the first bad event (or the head problem) and why."""
        if self.ok:
            return f"{self.checked} events, chain intact"
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
    Head problems name the newest vouched event by seq and hash prefix.
    """
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
    expected_seq, prev = 1, GENESIS_HASH
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
        if problem:
            return VerifyResult(False, expected_seq - 1, seq, row[1], problem)
        prev, expected_seq = stored_hash, expected_seq + 1
        if progress and seq % 10_000 == 0:
            progress(seq)
    checked = expected_seq - 1
    if log.anchor is not None and marker is None:
        if history is not None:
            return _head_problem(
                checked,
                f"{HEAD_ANCHOR_KEY} missing but its history vouches for {history.describe()} (marker deleted)",
            )
        if checked > 0:
            return _head_problem(
                checked,
                f"{HEAD_ANCHOR_KEY} is missing and no marker history vouches for any of the {checked} events"
                " (marker and its history deleted)",
            )
    if vouched is not None and checked < vouched.seq:
        return _head_problem(
            checked,
            f"the head marker vouches for {vouched.describe()} but the log ends at seq {checked}"
            " (newest events deleted or database replaced)",
        )
    if marker is not None and history is not None and history.seq > marker.seq:
        return _head_problem(
            checked,
            f"the head marker vouches for {marker.describe()} but its history for {history.describe()} (moved back)",
        )
    return VerifyResult(True, checked)


def _head_problem(checked: int, problem: str) -> VerifyResult:
    return VerifyResult(False, checked, None, None, problem)


__all__ = ["HeadMark", "VerifyResult", "row_payload", "verify_chain"]
