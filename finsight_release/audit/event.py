"""Audit events: append-only, hash-chained evidence of every build, check, approval and env move."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64

# The columns that make up an event, in their canonical order; ``hash`` is computed over the others.
EVENT_FIELDS = (
    "seq",
    "event_id",
    "ts",
    "actor",
    "action",
    "release_id",
    "environment",
    "digests",
    "outcome",
    "details",
    "prev_hash",
)


class AuditAction(StrEnum):
    """What happened. New actions may be added; existing meanings never change."""

    BUILD = "build"
    VALIDATE = "validate"
    APPROVE = "approve"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    REFUSE = "refuse"
    FAIL = "fail"
    OVERRIDE = "override"
    HEALTH = "health"
    DIAGNOSE = "diagnose"
    DOCTOR = "doctor"


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII only: the same value always serializes to the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def event_hash(fields: dict[str, Any]) -> str:
    """sha256 over the event's canonical fields (``prev_hash`` included), which chains it to the last one."""
    payload = canonical_json({name: fields[name] for name in EVENT_FIELDS})
    return hashlib.sha256(payload.encode()).hexdigest()
