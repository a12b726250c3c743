"""Pruning the audit database past its retention, without losing evidence or the chain.

SOX keeps audit events at least 90 days. A prune removes the events older than the retention, in
this order, each step refusing (and changing nothing) when the one before did not hold:

1. the whole chain verifies (a broken log is never pruned: the evidence of the break would go);
2. the events to prune are the oldest ones, up to the last event stamped before the cut-off (never
   the newest event, which the head marker vouches for), as one contiguous slice;
3. they are exported as an evidence bundle (``audit/export.py``: the slice in ``events.jsonl``, one
   record per production change of prod, the manifest last), to a new location under the archive,
   and the bundle is verified back from where it was written;
4. the *prune anchor* (first kept seq, the last pruned event's hash, the cut-off, the bundle's
   location and manifest sha256) is written create-only to the anchor store, then the database
   records it and deletes the events in one transaction (:meth:`AuditLog.prune`);
5. the prune itself is appended to the log (action ``prune``).

``verify_chain`` then starts at the anchor: the first remaining event's ``prev_hash`` must be the
anchored hash, and the bundle's ``last_hash`` is that same hash, so the exported slice and the live
log still make one chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from finsight_release.audit.export import (
    EVIDENCE_RETENTION,
    MANIFEST,
    change_records,
    releases_evidence,
    verify_bundle,
    write_bundle,
)
from finsight_release.audit.log import AuditLog, PruneAnchor
from finsight_release.audit.verify import chain_record, verify_chain
from finsight_release.errors import AuditLogError
from finsight_release.store.base import ObjectStore

MIN_RETENTION_DAYS = 90  # SOX
PRUNE_ENV = "prod"  # the environment whose production changes the prune bundle records


@dataclass(frozen=True)
class PrunePlan:
    """What a prune would remove: events ``first_seq``..``last_seq``, stamped before ``cutoff``."""

    cutoff: datetime
    first_seq: int
    last_seq: int

    @property
    def count(self) -> int:
        return max(self.last_seq - self.first_seq + 1, 0)

    @property
    def folder(self) -> str:
        """The bundle's name under the archive: the seq range it holds."""
        return f"audit-{self.first_seq:012d}-{self.last_seq:012d}"


@dataclass(frozen=True)
class PruneResult:
    """A prune's outcome: how many events went, and the anchor and bundle that keep them."""

    cutoff: datetime
    pruned: int
    anchor: PruneAnchor | None = None
    export: str | None = None
    dry_run: bool = False  # then ``pruned`` is how many events a prune would remove

    def as_dict(self) -> dict[str, object]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "pruned": self.pruned,
            "dry_run": self.dry_run,
            "export": self.export,
            "first_kept_seq": self.anchor.first_seq if self.anchor else None,
            "anchored_hash": self.anchor.prev_hash if self.anchor else None,
        }


def plan_prune(log: AuditLog, retention_days: int, now: datetime | None = None) -> PrunePlan:
    """The events older than ``retention_days`` (at least 90) that a prune would remove (``count``
    0: none).

    The slice ends before the first event stamped at or after the cut-off, so no event inside the
    retention goes, and never includes the newest event (the head marker vouches for it).
    """
    if retention_days < MIN_RETENTION_DAYS:
        raise AuditLogError(
            f"audit retention of {retention_days} days refused: SOX keeps audit events at least "
            f"{MIN_RETENTION_DAYS} days; nothing pruned"
        )
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    with log.engine.connect() as conn:
        bounds: Any = conn.execute(text("select min(seq), max(seq) from audit_events")).one()
        kept: Any = conn.execute(
            text("select min(seq) from audit_events where ts >= :c"),
            {"c": cutoff.isoformat(timespec="microseconds")},
        ).scalar()
    first, newest = bounds
    if first is None:
        return PrunePlan(cutoff, 1, 0)
    newest = int(newest)
    last = min((int(kept) if kept is not None else newest + 1) - 1, newest - 1)
    return PrunePlan(cutoff, int(first), max(last, int(first) - 1))


def prune_audit(
    log: AuditLog,
    releases: ObjectStore,
    archive: ObjectStore,
    plan: PrunePlan,
    actor: str,
) -> PruneResult:
    """Export, anchor and delete the events of ``plan`` (``plan.count`` > 0; see the module
    docstring).

    ``releases`` is the artifact store (release manifests and validation verdicts for the change
    records); ``archive`` is the new, empty location the bundle goes to (Object Lock on S3).
    """
    chain = verify_chain(log)
    if not chain.ok:
        raise AuditLogError(f"audit chain broken, nothing pruned: {chain.message}")
    slice_events = log.events_in(plan.first_seq, plan.last_seq)
    if len(slice_events) != plan.count:
        raise AuditLogError(f"audit events {plan.first_seq}-{plan.last_seq} moved; nothing pruned")
    last = slice_events[-1]
    location, manifest_sha256 = _exported(archive, plan, last["hash"])
    if location is None:
        manifests, verdicts = releases_evidence(releases, PRUNE_ENV, slice_events)
        records = change_records(PRUNE_ENV, slice_events, log.events(), manifests, verdicts)
        exported = write_bundle(
            archive,
            env=PRUNE_ENV,
            start=datetime.fromisoformat(slice_events[0]["ts"]),
            end=datetime.fromisoformat(last["ts"]),
            slice_events=slice_events,
            records=records,
            chain={**chain_record(log, chain), "pruned_before": plan.cutoff.isoformat()},
            exporter=actor,
            retain_until=datetime.now(UTC) + EVIDENCE_RETENTION,
            require_changes=False,
        )
        location, manifest_sha256 = _exported(archive, plan, last["hash"])  # read back
        if location is None:
            raise AuditLogError(
                f"{exported.location}: the bundle did not read back; nothing pruned"
            )
    anchor = PruneAnchor(
        first_seq=plan.last_seq + 1,
        prev_hash=last["hash"],
        pruned_before=plan.cutoff.isoformat(),
        export=location,
        manifest_sha256=manifest_sha256,
        at=datetime.now(UTC).isoformat(),
    )
    pruned = log.prune(anchor)
    return PruneResult(plan.cutoff, pruned, log.prune_anchor(), location)


def _exported(archive: ObjectStore, plan: PrunePlan, last_hash: str) -> tuple[str | None, str]:
    """(location, manifest sha256) of the verified bundle of exactly ``plan``'s events already in
    ``archive`` (a prune that stopped after its export), (None, "") when ``archive`` is empty;
    anything else there is refused."""
    if not archive.list_retained(""):
        return None, ""
    check = verify_bundle(archive)
    if check.last_hash != last_hash or check.events != plan.count:
        raise AuditLogError(
            f"{archive.url} holds another bundle (to {check.last_hash[:12]}, {check.events} events) "
            f"than events {plan.first_seq}-{plan.last_seq}; nothing pruned"
        )
    manifest = archive.get_retained(MANIFEST)
    assert manifest is not None  # verify_bundle read it
    return archive.url, hashlib.sha256(manifest.data).hexdigest()
