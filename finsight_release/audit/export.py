"""SOX evidence bundles: every production change of a date range, self-contained and tamper-evident.

A bundle is a set of objects written create-only (on S3: with Object Lock COMPLIANCE retention for at
least 90 days, so nobody can delete or alter them before then)::

    events.jsonl            every audit event of the range, contiguous in seq: the slice of the chain
    changes/<seq>-<op>.json one record per production change: release manifest, change set, who moved
                            it and any override reason, approvals, validation verdict, check results,
                            diagnoses, and the audit events of the operation (the chain anchors)
    index.json              the changes, one line each
    chain.json              the whole log's chain and head-marker verification at export time
    MANIFEST.json           sha256 of every file above, the range, the slice's first and last hash;
                            written last: a bundle without it is incomplete

``verify_bundle`` needs nothing but the bundle: each file against the manifest (no file missing,
none added), each event's hash against its content, each event's ``prev_hash`` against the event
before it, each change record's events against the slice, and each release manifest's id against its
artifacts' digests. The slice's last hash can be compared with the head marker history kept in the
locked store (``audit/head-history/``), which ties the bundle to the live log.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from finsight_release.audit.event import EVENT_FIELDS, GENESIS_HASH, canonical_json, event_hash
from finsight_release.errors import EvidenceExportError, EvidenceTamperedError
from finsight_release.release.artifact import Artifact
from finsight_release.release.manifest import release_id_for
from finsight_release.store.base import ObjectStore

BUNDLE_FORMAT = "finsight-evidence/1"
MANIFEST = "MANIFEST.json"
EVENTS = "events.jsonl"
CHAIN = "chain.json"
INDEX = "index.json"
CHANGES = "changes/"
# SOX: evidence kept at least 90 days; S3 Object Lock (COMPLIANCE) enforces it on every bundle object.
EVIDENCE_RETENTION = timedelta(days=90)
# A production change: the pointer moved (promote/rollback live) or a failed one was switched back.
CHANGE_ACTIONS = ("promote", "rollback")
# What a change record gathers about its release, by audit action.
RELATED_ACTIONS = {
    "approve": "approvals",
    "override": "overrides",
    "validate": "validations",
    "health": "checks",
    "diagnose": "diagnoses",
}


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: where, how many changes and events, and the manifest's own digest."""

    location: str
    changes: int
    events: int
    files: int
    manifest_sha256: str
    chain_ok: bool


@dataclass(frozen=True)
class BundleCheck:
    """A verified bundle: its range and environment, and what was checked."""

    environment: str
    start: str
    end: str
    changes: int
    events: int
    files: int
    last_hash: str
    chain_ok_at_export: bool


def parse_range(start: str, end: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """``--from``/``--to`` as UTC instants: a date means its whole day (``--to`` inclusive), a
    timestamp itself. Refused: unreadable values, ``--from`` after ``--to``, a start in the future."""
    now = now or datetime.now(UTC)

    def parse(text: str, end_of_day: bool) -> datetime:
        raw = text.strip()
        try:
            if len(raw) == 10:
                day = date.fromisoformat(raw)
                moment = datetime.combine(day, time.max if end_of_day else time.min)
                return moment.replace(tzinfo=UTC)
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise EvidenceExportError(
                f"{'--to' if end_of_day else '--from'} {text!r} is not a date (YYYY-MM-DD) or an "
                "ISO 8601 timestamp"
            ) from None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    first, last = parse(start, False), parse(end, True)
    if first > last:
        raise EvidenceExportError(f"--from {start} is after --to {end}")
    if first > now:
        raise EvidenceExportError(f"--from {start} is in the future")
    return first, min(last, now)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dump(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, indent=1, default=str) + "\n").encode()


def _anchor(event: dict[str, Any]) -> dict[str, Any]:
    """An audit event with everything needed to re-check its hash (and its place in the chain)."""
    return {name: event[name] for name in (*EVENT_FIELDS, "hash")}


def change_records(
    env: str,
    slice_events: list[dict[str, Any]],
    all_events: Iterable[dict[str, Any]],
    manifests: dict[str, dict[str, Any] | None],
    verdicts: dict[str, dict[str, Any] | None],
) -> list[dict[str, Any]]:
    """One record per production change of ``env`` in ``slice_events`` (seq order)."""
    related: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    by_operation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in all_events:
        if event["action"] in RELATED_ACTIONS and event["release_id"]:
            related[(event["release_id"], RELATED_ACTIONS[event["action"]])].append(event)
        operation = event["details"].get("operation_id")
        if operation:
            by_operation[operation].append(event)
    records = []
    for event in slice_events:
        if not (
            event["environment"] == env
            and event["action"] in CHANGE_ACTIONS
            and event["outcome"] == "ok"
        ):
            continue
        release = event["release_id"]
        details = event["details"]
        operation = details.get("operation_id")

        def about(kind: str, release: str = release) -> list[dict[str, Any]]:
            found = related.get((release, kind), [])
            # A release's checks and overrides in other environments are not this change's evidence.
            return [
                _anchor(e)
                for e in found
                if kind in {"diagnoses", "approvals"} or e["environment"] in {env, None}
            ]

        op_events = sorted(by_operation.get(operation, []), key=lambda e: e["seq"])
        records.append(
            {
                "seq": event["seq"],
                "ts": event["ts"],
                "environment": env,
                "kind": event["action"],
                "automatic": bool(details.get("automatic")),
                "release_id": release,
                "from_release": details.get("from_release"),
                "operation_id": operation,
                "dagster_run_id": details.get("dagster_run_id"),
                "actor": event["actor"],
                "override_reason": details.get("override_reason"),
                "change_set": details.get("change_set"),
                "digests": event["digests"],
                "release_manifest": manifests.get(release),
                "validation_verdict": verdicts.get(release),
                "approvals": about("approvals"),  # a later issue adds approvals; the slot is here
                "overrides": about("overrides"),
                "validations": about("validations"),
                "checks": about("checks"),
                "diagnoses": about("diagnoses"),
                "audit_events": [_anchor(e) for e in op_events] or [_anchor(event)],
            }
        )
    return records


def releases_evidence(
    store: ObjectStore, env: str, slice_events: list[dict[str, Any]]
) -> tuple[dict[str, dict[str, Any] | None], dict[str, dict[str, Any] | None]]:
    """The release manifests and ``env`` validation verdicts (None when absent) of every release
    the slice's events of ``env`` name, read from the artifact ``store``."""
    releases = {
        e["release_id"] for e in slice_events if e["release_id"] and e["environment"] == env
    }
    manifests: dict[str, dict[str, Any] | None] = {}
    verdicts: dict[str, dict[str, Any] | None] = {}
    for release in releases:
        obj = store.get(f"releases/{release}.json")
        manifests[release] = json.loads(obj.data) if obj else None
        verdict = store.get(f"releases/{release}/validation/{env}.json")
        verdicts[release] = json.loads(verdict.data) if verdict else None
    return manifests, verdicts


def write_bundle(
    dest: ObjectStore,
    *,
    env: str,
    start: datetime,
    end: datetime,
    slice_events: list[dict[str, Any]],
    records: list[dict[str, Any]],
    chain: dict[str, Any],
    exporter: str,
    retain_until: datetime,
    require_changes: bool = True,
) -> ExportResult:
    """Write the bundle create-only (retained until ``retain_until``); the manifest last.
    ``require_changes=False`` (a prune's export) writes the slice even with no production change."""
    if not slice_events or (require_changes and not records):
        raise EvidenceExportError(
            f"no production change in {env} between {start.isoformat()} and {end.isoformat()}: "
            "nothing exported"
        )
    if dest.list("") or dest.list_retained(""):
        raise EvidenceExportError(
            f"{dest.url} is not empty: an evidence bundle is written once, to a new place"
        )
    files: dict[str, bytes] = {
        EVENTS: b"".join((canonical_json(_anchor(e)) + "\n").encode() for e in slice_events),
        CHAIN: _dump(chain),
    }
    index = []
    for record in records:
        name = f"{CHANGES}{record['seq']:012d}-{record['operation_id'] or 'no-operation'}.json"
        files[name] = _dump(record)
        index.append(
            {
                "file": name,
                **{
                    k: record[k]
                    for k in ("seq", "ts", "kind", "release_id", "actor", "override_reason")
                },
            }
        )
    files[INDEX] = _dump(index)
    manifest = {
        "format": BUNDLE_FORMAT,
        "environment": env,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "exported_at": datetime.now(UTC).isoformat(),
        "exporter": exporter,
        "retain_until": retain_until.isoformat(),
        "first_seq": slice_events[0]["seq"],
        "last_seq": slice_events[-1]["seq"],
        "first_prev_hash": slice_events[0]["prev_hash"],
        "last_hash": slice_events[-1]["hash"],
        "files": {name: _digest(data) for name, data in sorted(files.items())},
    }
    for name, data in files.items():
        if not dest.put_retained(name, data, retain_until):
            raise EvidenceExportError(
                f"{dest.url}: {name} appeared while exporting; bundle incomplete"
            )
    manifest_bytes = _dump(manifest)
    if not dest.put_retained(MANIFEST, manifest_bytes, retain_until):
        raise EvidenceExportError(f"{dest.url}: {MANIFEST} appeared while exporting")
    return ExportResult(
        dest.url,
        len(records),
        len(slice_events),
        len(files) + 1,
        _digest(manifest_bytes),
        bool(chain.get("ok")),
    )


def _tampered(where: str, problem: str) -> EvidenceTamperedError:
    return EvidenceTamperedError(f"evidence bundle does not verify: {where}: {problem}")


def _json(name: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise _tampered(name, f"not JSON ({exc})") from None


def verify_bundle(source: ObjectStore) -> BundleCheck:
    """Check a bundle offline (see the module docstring); EvidenceTamperedError on the first problem."""
    manifest_obj = source.get_retained(MANIFEST)
    if manifest_obj is None:
        raise _tampered(source.url, f"no {MANIFEST} (not a bundle, or an incomplete export)")
    manifest = _json(MANIFEST, manifest_obj.data)
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise _tampered(MANIFEST, f"not a {BUNDLE_FORMAT} manifest")
    listed: dict[str, str] = manifest["files"]
    present = set(source.list_retained("")) - {MANIFEST}
    for extra in sorted(present - set(listed)):
        raise _tampered(extra, "file not in the manifest (added after export)")
    contents: dict[str, bytes] = {}
    for name, digest in sorted(listed.items()):
        obj = source.get_retained(name)
        if obj is None:
            raise _tampered(name, "missing (deleted after export)")
        if _digest(obj.data) != digest:
            raise _tampered(name, f"sha256 {_digest(obj.data)[:12]}, manifest says {digest[:12]}")
        contents[name] = obj.data
    events = [_json(EVENTS, line) for line in contents[EVENTS].splitlines() if line.strip()]
    by_seq: dict[int, dict[str, Any]] = {}
    prev = manifest["first_prev_hash"]
    for event in events:
        seq = event.get("seq")
        if event_hash(event) != event.get("hash"):
            raise _tampered(f"{EVENTS} seq {seq}", "hash does not match the content (modified)")
        if event["prev_hash"] != prev:
            raise _tampered(f"{EVENTS} seq {seq}", "prev_hash breaks the chain (inserted/removed)")
        if by_seq and seq != max(by_seq) + 1:
            raise _tampered(f"{EVENTS} seq {seq}", "seq gap (event removed)")
        prev = event["hash"]
        by_seq[seq] = event
    if not events or (events[0]["seq"], prev) != (manifest["first_seq"], manifest["last_hash"]):
        raise _tampered(EVENTS, "the slice does not end at the manifest's last hash")
    if events[0]["seq"] == 1 and manifest["first_prev_hash"] != GENESIS_HASH:
        raise _tampered(EVENTS, "the first event of the log does not start at the genesis hash")
    changes = 0
    for name in sorted(n for n in listed if n.startswith(CHANGES)):
        record = _json(name, contents[name])
        for event in record["audit_events"] + [
            e for key in RELATED_ACTIONS.values() for e in record.get(key, [])
        ]:
            if event_hash(event) != event.get("hash"):
                raise _tampered(name, f"audit event seq {event.get('seq')} modified")
            in_slice = by_seq.get(event["seq"])
            if in_slice is not None and in_slice["hash"] != event["hash"]:
                raise _tampered(name, f"audit event seq {event['seq']} differs from {EVENTS}")
        if record["seq"] not in by_seq:
            raise _tampered(name, f"its change event seq {record['seq']} is not in {EVENTS}")
        release = record.get("release_manifest")
        if release is not None:
            artifacts = tuple(Artifact.model_validate(a) for a in release["artifacts"])
            if release_id_for(artifacts) != record["release_id"]:
                raise _tampered(name, "the release manifest's artifacts do not give its id")
        changes += 1
    chain = _json(CHAIN, contents[CHAIN])
    return BundleCheck(
        manifest["environment"],
        manifest["from"],
        manifest["to"],
        changes,
        len(events),
        len(listed) + 1,
        manifest["last_hash"],
        bool(chain.get("ok")),
    )
