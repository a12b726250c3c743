"""Releases of a mini platform whose payments topic has a chosen compatibility mode, schema version
and consumer version, for the streaming target's tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from tests.mini_platform import make_platform
from tests.targets.streaming.stream_world import REFERENCE_CONSUMER

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


def topic_files(
    mode: str, schema: str, consumer: str | None, runnable: bool = False
) -> dict[str, str]:
    files = {
        f"{TOPIC_DIR}/schema.avsc": schema_text(schema),
        f"{TOPIC_DIR}/topic.yaml": (
            f"topic: finsight.payments.events\nsubject: {SUBJECT}\ncompatibility: {mode}\n"
        ),
    }
    if consumer is not None:
        service = f"{TOPIC_DIR}/consumers/payments_sink"
        count = 1 if runnable else 2
        files[f"{service}/service.yaml"] = f"service: payments_sink\ndesired_count: {count}\n"
        code = (REFERENCE_CONSUMER / "consumer.py").read_text() if runnable else ""
        files[f"{service}/consumer.py"] = f"{code}VERSION = {consumer!r}\n"
    return files


def topic_release(
    repo: ReleaseRepository,
    root: Path,
    mode: str,
    schema: str,
    consumer: str | None = "c1",
    runnable: bool = False,
    without_topic: bool = False,
) -> ReleaseManifest:
    """Build the release of a mini platform with this topic (a new directory under ``root``);
    ``runnable``: its consumer is the reference consumer's code (one task), which a broker runs;
    ``without_topic``: the platform has no streaming topic at all."""
    platform = root / f"p-{mode}-{schema}-{consumer}-{len(list(root.glob('p-*')))}"
    files = topic_files(mode, schema, consumer, runnable)
    make_platform(platform, files, without="dbt_project")
    if without_topic:
        shutil.rmtree(platform / "release_assets/streaming")
    manifest, _ = repo.build(platform, "tester")
    return manifest
