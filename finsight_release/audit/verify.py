"""Verification of the audit hash chain: names the first modified, deleted, inserted or reordered event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from finsight_release.audit.event import GENESIS_HASH
from finsight_release.audit.log import AuditLog

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
        if self.ok:
            return f"{self.checked} events, chain intact"
        return f"first bad event: seq {self.first_bad_seq} ({self.first_bad_event}): {self.problem}"


def row_payload(row: tuple) -> bytes:  # type: ignore[type-arg]
    """Canonical JSON of a stored row, byte-identical to ``canonical_json`` of the appended fields.

    Built by hand from the stored text (digests and details are already canonical JSON), so the
    hot loop never parses JSON: keys in sorted order, like ``json.dumps(sort_keys=True)``.
    """
    seq, event_id, ts, actor, action, release_id, environment, digests, outcome, details, prev_hash = row[:11]
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
    - a chain shorter than, or different at, the head anchored outside the database: newest events
      deleted or the whole chain rewritten.
    """
    expected_seq, prev = 1, GENESIS_HASH
    anchor = log.anchored_head()
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
        if problem:
            return VerifyResult(False, expected_seq - 1, seq, row[1], problem)
        prev, expected_seq = stored_hash, expected_seq + 1
        if progress and seq % 10_000 == 0:
            progress(seq)
        if anchor and seq == anchor[0] and stored_hash != anchor[1]:
            return VerifyResult(False, seq - 1, seq, row[1], "does not match the anchored head (chain rewritten)")
    checked = expected_seq - 1
    if anchor and checked < anchor[0]:
        return VerifyResult(
            False, checked, checked + 1, None, f"events {checked + 1}..{anchor[0]} missing (newest events deleted)"
        )
    return VerifyResult(True, checked)
