"""Schema registries an environment's producers and consumers read: a local file-backed one (the
embedded default) and AWS Glue Schema Registry through boto3 (AWS mode).

A subject's versions are append-only: registering an identical definition returns the version that
has it, and nothing here ever deletes one. What producers and consumers use is the subject's *live*
version, a pointer moved by :meth:`point`; rollback moves it back to an older version.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from finsight_release.errors import StreamingDeployError
from finsight_release.validate.streaming.compatibility import CompatibilityMode

# Glue's names for the Confluent levels the project's topics declare.
GLUE_COMPATIBILITY = {
    CompatibilityMode.NONE: "NONE",
    CompatibilityMode.BACKWARD: "BACKWARD",
    CompatibilityMode.BACKWARD_TRANSITIVE: "BACKWARD_ALL",
    CompatibilityMode.FORWARD: "FORWARD",
    CompatibilityMode.FORWARD_TRANSITIVE: "FORWARD_ALL",
    CompatibilityMode.FULL: "FULL",
    CompatibilityMode.FULL_TRANSITIVE: "FULL_ALL",
}
# The tag on a Glue schema that names its live version (Glue has no pointer of its own).
LIVE_TAG = "finsight-live-version"


@dataclass(frozen=True)
class SchemaVersion:
    """One registered version of a subject."""

    number: int
    definition: str


class SchemaRegistry(Protocol):
    """Where an environment's schemas are registered."""

    def versions(self, subject: str) -> list[SchemaVersion]:
        """Every registered version of ``subject``, oldest first (empty when unknown)."""
        ...

    def register(self, subject: str, definition: str, mode: CompatibilityMode) -> int:
        """Register ``definition`` (a no-op returning its number when already registered)."""
        ...

    def live(self, subject: str) -> int | None:
        """The version producers and consumers use now, or None."""
        ...

    def point(self, subject: str, number: int) -> None:
        """Make version ``number`` the live one (it must be registered)."""
        ...


def same_definition(a: str, b: str) -> bool:
    """Definitions equal as JSON (whitespace and key order do not make a new version)."""
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


class LocalSchemaRegistry:
    """A file-backed registry: ``<root>/<subject>/v<N>.avsc`` and ``<root>/<subject>/live``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, subject: str) -> Path:
        return self.root / subject

    def versions(self, subject: str) -> list[SchemaVersion]:
        folder = self._dir(subject)
        if not folder.is_dir():
            return []
        numbers = sorted(int(p.stem[1:]) for p in folder.glob("v*.avsc") if p.stem[1:].isdigit())
        return [SchemaVersion(n, (folder / f"v{n}.avsc").read_text()) for n in numbers]

    def register(self, subject: str, definition: str, mode: CompatibilityMode) -> int:
        existing = self.versions(subject)
        for version in existing:
            if same_definition(version.definition, definition):
                return version.number
        number = existing[-1].number + 1 if existing else 1
        folder = self._dir(subject)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(folder / f"v{number}.avsc", definition)
        _write_atomically(folder / "compatibility", mode.value)
        return number

    def live(self, subject: str) -> int | None:
        path = self._dir(subject) / "live"
        return int(path.read_text()) if path.is_file() else None

    def point(self, subject: str, number: int) -> None:
        if not (self._dir(subject) / f"v{number}.avsc").is_file():
            raise StreamingDeployError(
                f"streaming/schema: {subject} has no version {number} to point at"
            )
        _write_atomically(self._dir(subject) / "live", str(number))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class GlueSchemaRegistry:
    """AWS Glue Schema Registry: one registry per environment, one schema per subject.

    Glue enforces compatibility itself in AWS; the project's own check decides before this is called
    (moto, used in tests, enforces nothing). The live version is the schema's ``finsight-live-version``
    tag, so a rollback re-points without deleting or re-registering anything.
    """

    def __init__(self, registry_name: str, client: Any | None = None) -> None:
        import boto3

        self.registry_name = registry_name
        self.client = client or boto3.client("glue")

    def _schema_id(self, subject: str) -> dict[str, str]:
        return {"RegistryName": self.registry_name, "SchemaName": subject}

    def _call(self, what: str, subject: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, what)(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                raise LookupError(subject) from exc
            raise StreamingDeployError(
                f"streaming/schema: Glue {what} for {subject} failed: {exc}"
            ) from exc
        except BotoCoreError as exc:
            raise StreamingDeployError(
                f"streaming/schema: Glue registry {self.registry_name} unreachable ({what}): {exc}"
            ) from exc

    def _latest(self, subject: str) -> int | None:
        try:
            found = self._call(
                "get_schema_version",
                subject,
                SchemaId=self._schema_id(subject),
                SchemaVersionNumber={"LatestVersion": True},
            )
        except LookupError:
            return None
        return int(found["VersionNumber"])

    def versions(self, subject: str) -> list[SchemaVersion]:
        latest = self._latest(subject)
        if latest is None:
            return []
        found = []
        for number in range(1, latest + 1):  # moto lacks list_schema_versions; numbers are dense
            body = self._call(
                "get_schema_version",
                subject,
                SchemaId=self._schema_id(subject),
                SchemaVersionNumber={"VersionNumber": number},
            )
            found.append(SchemaVersion(number, body["SchemaDefinition"]))
        return found

    def _ensure_registry(self) -> None:
        try:
            self._call("get_registry", self.registry_name, RegistryId=self._registry_id())
        except LookupError:
            self._call("create_registry", self.registry_name, RegistryName=self.registry_name)

    def _registry_id(self) -> dict[str, str]:
        return {"RegistryName": self.registry_name}

    def register(self, subject: str, definition: str, mode: CompatibilityMode) -> int:
        for version in self.versions(subject):
            if same_definition(version.definition, definition):
                return version.number
        if self._latest(subject) is None:
            self._ensure_registry()
            created = self._call(
                "create_schema",
                subject,
                RegistryId=self._registry_id(),
                SchemaName=subject,
                DataFormat="AVRO",
                Compatibility=GLUE_COMPATIBILITY[mode],
                SchemaDefinition=definition,
            )
            return int(created.get("LatestSchemaVersion", 1))
        registered = self._call(
            "register_schema_version",
            subject,
            SchemaId=self._schema_id(subject),
            SchemaDefinition=definition,
        )
        return int(registered["VersionNumber"])

    def _arn(self, subject: str) -> str:
        schema = self._call("get_schema", subject, SchemaId=self._schema_id(subject))
        return str(schema["SchemaArn"])

    def live(self, subject: str) -> int | None:
        try:
            arn = self._arn(subject)
        except LookupError:
            return None
        tags = self._call("get_tags", subject, ResourceArn=arn).get("Tags", {})
        value = tags.get(LIVE_TAG)
        return int(value) if value else None

    def point(self, subject: str, number: int) -> None:
        if number not in {v.number for v in self.versions(subject)}:
            raise StreamingDeployError(
                f"streaming/schema: {subject} has no version {number} to point at"
            )
        self._call(
            "tag_resource",
            subject,
            ResourceArn=self._arn(subject),
            TagsToAdd={LIVE_TAG: str(number)},
        )
