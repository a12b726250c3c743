"""What a topic's artifact directory declares for deploys: the topic, its registry subject and
compatibility mode, the schema it ships, and the consumer services under ``consumers/<name>/``.

A topic directory (``release_assets/streaming/<topic>/``)::

    schema.avsc, topic.yaml, history/      the schema and its mode (see validate/streaming)
    consumers/<name>/service.yaml          a consumer service of this topic
    consumers/<name>/<entry_point>         its code (the process each task runs)

A consumer ships in its topic's artifact because the order of a schema change and a consumer
rollout is decided per topic, by the topic's compatibility mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from finsight_release.errors import SchemaParseError, StreamingDeployError
from finsight_release.release.artifact import Artifact, sha256_bytes
from finsight_release.validate.streaming.check import SCHEMA_FILE, TOPIC_FILE, read_mode
from finsight_release.validate.streaming.compatibility import CompatibilityMode

CONSUMERS_DIR = "consumers"
SERVICE_FILE = "service.yaml"


@dataclass(frozen=True)
class ServiceSpec:
    """A consumer service: its name, topic, group, task count, code entry point and sink table."""

    service: str
    directory: str
    topic: str
    group_id: str
    desired_count: int
    entry_point: str
    sink_table: str


@dataclass(frozen=True)
class TopicSpec:
    """A topic as a release ships it."""

    topic: str
    subject: str
    mode: CompatibilityMode
    schema: str
    services: tuple[ServiceSpec, ...]


def _yaml(path: Path, layer: str) -> dict[str, object]:
    try:
        body = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StreamingDeployError(f"{layer}: cannot read {path.name}: {exc}") from exc
    if not isinstance(body, dict):
        raise StreamingDeployError(f"{layer}: {path.name} is not a mapping")
    return body


def read_topic(topic_dir: Path) -> TopicSpec:
    """The topic declared by a staged topic directory; StreamingDeployError when unusable."""
    config = _yaml(topic_dir / TOPIC_FILE, "streaming/schema")
    try:
        mode = read_mode(topic_dir)
        schema = (topic_dir / SCHEMA_FILE).read_text()
    except (SchemaParseError, OSError) as exc:
        raise StreamingDeployError(f"streaming/schema: {topic_dir.name}: {exc}") from exc
    topic = str(config.get("topic") or topic_dir.name)
    services = tuple(
        read_service(path.parent, topic)
        for path in sorted((topic_dir / CONSUMERS_DIR).glob(f"*/{SERVICE_FILE}"))
    )
    return TopicSpec(topic, str(config.get("subject") or f"{topic}-value"), mode, schema, services)


def read_service(consumer_dir: Path, topic: str) -> ServiceSpec:
    """The consumer service declared by ``consumers/<name>/service.yaml``."""
    config = _yaml(consumer_dir / SERVICE_FILE, "streaming/consumer")
    name = str(config.get("service") or consumer_dir.name)
    try:
        desired = int(str(config.get("desired_count", 1)))
    except ValueError as exc:
        raise StreamingDeployError(
            f"streaming/consumer: {name}: desired_count must be a whole number"
        ) from exc
    entry = str(config.get("entry_point") or "consumer.py")
    if not (consumer_dir / entry).is_file():
        raise StreamingDeployError(f"streaming/consumer: {name}: entry point {entry} is missing")
    return ServiceSpec(
        service=name,
        directory=consumer_dir.name,
        topic=topic,
        group_id=str(config.get("group_id") or f"finsight.{name}"),
        desired_count=max(desired, 1),
        entry_point=entry,
        sink_table=str(config.get("sink_table") or f"stream_{name}"),
    )


def service_version(artifact: Artifact, service_dir_name: str) -> str:
    """The digest of one consumer's files in a topic artifact: its code version, which changes only
    when the consumer does (a schema-only change keeps its tasks running)."""
    prefix = f"{CONSUMERS_DIR}/{service_dir_name}/"
    listing = "\n".join(f"{f.path} {f.digest}" for f in artifact.files if f.path.startswith(prefix))
    return sha256_bytes(listing.encode())
