"""Releases of a mini platform whose payments topic has a chosen compatibility mode, schema version
and consumer version, for the streaming target's tests."""

from __future__ import annotations

import json
from pathlib import Path

from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from tests.mini_platform import make_platform

TOPIC_DIR = "release_assets/streaming/payments.events"
SUBJECT = "finsight.payments.events-value"

FIELDS_V1 = [{"name": "event_id", "type": "string"}]
# v2 adds a field with a default: compatible in every direction.
FIELDS_V2 = [*FIELDS_V1, {"name": "amount", "type": "long", "default": 0}]
# v3 adds a field without a default: new readers cannot read old data (breaks BACKWARD and FULL).
FIELDS_BAD = [*FIELDS_V1, {"name": "currency", "type": "string"}]
SCHEMAS = {"v1": FIELDS_V1, "v2": FIELDS_V2, "bad": FIELDS_BAD}


def schema_text(version: str) -> str:
    return json.dumps(
        {"type": "record", "name": "PaymentEvent", "namespace": "t", "fields": SCHEMAS[version]},
        indent=2,
    )


def topic_files(mode: str, schema: str, consumer: str | None) -> dict[str, str]:
    files = {
        f"{TOPIC_DIR}/schema.avsc": schema_text(schema),
        f"{TOPIC_DIR}/topic.yaml": (
            f"topic: finsight.payments.events\nsubject: {SUBJECT}\ncompatibility: {mode}\n"
        ),
    }
    if consumer is not None:
        service = f"{TOPIC_DIR}/consumers/payments_sink"
        files[f"{service}/service.yaml"] = "service: payments_sink\ndesired_count: 2\n"
        files[f"{service}/consumer.py"] = f"VERSION = {consumer!r}\n"
    return files


def topic_release(
    repo: ReleaseRepository,
    root: Path,
    mode: str,
    schema: str,
    consumer: str | None = "c1",
) -> ReleaseManifest:
    """Build the release of a mini platform with this topic (a new directory under ``root``)."""
    platform = root / f"p-{mode}-{schema}-{consumer}-{len(list(root.glob('p-*')))}"
    manifest, _ = repo.build(
        make_platform(platform, topic_files(mode, schema, consumer), without="dbt_project"),
        "tester",
    )
    return manifest
