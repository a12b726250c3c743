"""``streaming.compatibility``: each topic's ``schema.avsc`` is compatible with its history and base.

A ``stream_schema`` artifact is a topic directory::

    schema.avsc        the schema this release ships
    topic.yaml         compatibility: BACKWARD | FORWARD | FULL | *_TRANSITIVE | NONE (default BACKWARD)
    history/*.avsc     earlier versions, ordered by the number in the name (v1, v2, ..., v10)

The base release's ``schema.avsc`` (what the environment runs now, from ``ctx.base_dir``) is the
latest previous version when it differs from the newest history entry. History entries identical to
the new schema (a history that already records it) are dropped from the end, so a non-transitive
level compares against the version before it, not against itself.

Finding ids: ``streaming.compatibility`` (ERROR, names field and rule), ``streaming.schema_invalid``
(ERROR: unreadable or invalid schema), ``streaming.topic_config`` (ERROR for an unknown level).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import avro.errors
import avro.schema
import yaml
from avro.schema import Schema

from finsight_release.errors import SchemaParseError
from finsight_release.release.artifact import Artifact, ArtifactKind, sha256_bytes
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding
from finsight_release.validate.streaming.compatibility import CompatibilityMode, check_compatibility

CHECK_ID = "streaming.compatibility"
SCHEMA_FILE = "schema.avsc"
TOPIC_FILE = "topic.yaml"
HISTORY_DIR = "history"
DEFAULT_MODE = CompatibilityMode.BACKWARD
BASE_LABEL = "the base release"
HINTS = {
    "BACKWARD": "give new fields a default, and do not change types except by allowed promotion (int->long...)",
    "FORWARD": "only remove fields that have a default, and do not add enum symbols or union branches",
}


def parse_schema_text(text: str, origin: str) -> Schema:
    """Parse Avro schema JSON; raises :class:`SchemaParseError` naming ``origin``."""
    try:
        return avro.schema.parse(text)
    except (avro.errors.AvroException, ValueError, TypeError, KeyError, AttributeError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise SchemaParseError(f"{origin} is not a valid Avro schema: {detail}") from exc


def read_schema(path: Path, origin: str) -> Schema:
    """Read and parse a schema file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaParseError(f"cannot read {origin}: {exc}") from exc
    return parse_schema_text(text, origin)


def natural_key(path: Path) -> list[object]:
    """Sort key that puts v2 before v10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.stem)]


def read_mode(topic_dir: Path) -> CompatibilityMode:
    """The topic's compatibility level from topic.yaml (BACKWARD when absent)."""
    path = topic_dir / TOPIC_FILE
    if not path.exists():
        return DEFAULT_MODE
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SchemaParseError(f"cannot read {TOPIC_FILE}: {exc}") from exc
    raw = (
        data.get("compatibility", DEFAULT_MODE.value)
        if isinstance(data, dict)
        else DEFAULT_MODE.value
    )
    try:
        return CompatibilityMode(str(raw).upper())
    except ValueError as exc:
        allowed = ", ".join(m.value for m in CompatibilityMode)
        raise SchemaParseError(
            f"{TOPIC_FILE}: unknown compatibility {raw!r} (expected one of {allowed})"
        ) from exc


def canonical(schema: Schema) -> str:
    return json.dumps(schema.to_json(), sort_keys=True)


def previous_versions(
    topic_dir: Path, source: str, new: Schema, base_dir: Path | None
) -> list[tuple[str, Schema]]:
    """Previous schemas, oldest first, labelled by file stem (or 'the base release')."""
    history = sorted((topic_dir / HISTORY_DIR).glob("*.avsc"), key=natural_key)
    versions = [(p.stem, read_schema(p, f"{source}/{HISTORY_DIR}/{p.name}")) for p in history]
    new_form = canonical(new)
    while versions and canonical(versions[-1][1]) == new_form:
        versions.pop()
    if base_dir is not None and (base_dir / SCHEMA_FILE).is_file():
        base = read_schema(base_dir / SCHEMA_FILE, f"{BASE_LABEL}'s {SCHEMA_FILE}")
        if not versions or canonical(versions[-1][1]) != canonical(base):
            versions.append((BASE_LABEL, base))
    return versions


def field_line(text: str, field: str | None) -> int | None:
    """Line of the field's ``"name": "<leaf>"`` in the schema text, when found."""
    if not field:
        return None
    leaf = field.split(".")[-1]
    match = re.search(r'"name"\s*:\s*' + re.escape(json.dumps(leaf)), text)
    return text.count("\n", 0, match.start()) + 1 if match else None


class AvroCompatibilityCheck(CheckDefaults):
    """Avro compatibility of each topic's new schema with its history and the base release."""

    id = CHECK_ID
    kinds = frozenset({ArtifactKind.STREAM_SCHEMA})

    def cache_inputs(self, ctx: ValidationContext, artifact: Artifact) -> str:
        """The base release's schema is an input too: a different base must not reuse a cached result."""
        base_dir = ctx.base_dir(artifact.name)
        base_schema = base_dir / SCHEMA_FILE if base_dir is not None else None
        if base_schema is None or not base_schema.is_file():
            return ""
        try:
            return sha256_bytes(base_schema.read_bytes())
        except OSError:
            return "unreadable"

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            findings.extend(self.check_topic(ctx, artifact))
        return findings

    def check_topic(self, ctx: ValidationContext, artifact: Artifact) -> list[Finding]:
        """Findings for one topic directory."""
        topic_dir = ctx.platform / artifact.source
        schema_file = f"{artifact.source}/{SCHEMA_FILE}"
        try:
            mode = read_mode(topic_dir)
        except SchemaParseError as exc:
            return [
                self._finding(
                    artifact, "streaming.topic_config", f"{artifact.source}/{TOPIC_FILE}", str(exc)
                )
            ]
        try:
            text = (topic_dir / SCHEMA_FILE).read_text(encoding="utf-8")
            new = parse_schema_text(text, schema_file)
            previous = previous_versions(
                topic_dir, artifact.source, new, ctx.base_dir(artifact.name)
            )
        except (OSError, UnicodeDecodeError) as exc:
            return [
                self._finding(
                    artifact,
                    "streaming.schema_invalid",
                    schema_file,
                    f"cannot read {schema_file}: {exc}",
                )
            ]
        except SchemaParseError as exc:
            return [self._finding(artifact, "streaming.schema_invalid", schema_file, str(exc))]
        return [
            self._finding(
                artifact,
                CHECK_ID,
                schema_file,
                problem.message,
                line=field_line(text, problem.field),
                hint=HINTS[problem.direction.value],
            )
            for problem in check_compatibility(new, previous, mode)
        ]

    @staticmethod
    def _finding(
        artifact: Artifact,
        check_id: str,
        file: str,
        message: str,
        line: int | None = None,
        hint: str | None = None,
    ) -> Finding:
        return Finding.on(artifact, check_id, message, file=file, line=line, hint=hint)
