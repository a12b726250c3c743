"""An environment's Spark artifact location: wheels and job definitions at content-addressed keys,
and the one document the orchestrator reads (:mod:`.job_definitions`).

Keys under the location (a local folder by default, ``s3://bucket/prefix`` in AWS mode)::

    <env>/wheels/<job>/<wheel sha256>/<wheel file>     create-only: never overwritten
    <env>/definitions/<job>/<artifact digest>.json      create-only: what a launch of that version needs
    <env>/jobs.json                                     the live definitions, replaced by compare-and-swap

Rollback re-points ``jobs.json`` at definitions already there; nothing published is ever deleted by a
deploy or a rollback. Every store failure (unreachable endpoint, forbidden, missing bucket) surfaces
as one :class:`~finsight_release.errors.SparkDeployError` line naming the location.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from finsight_release.envs.environment import Environment
from finsight_release.errors import (
    SparkDeployError,
    StaleCasTokenError,
    StoreAddressError,
    StoreUnavailableError,
)
from finsight_release.one_line import one_line
from finsight_release.store.base import ObjectStore
from finsight_release.targets.spark.job_definitions import JobDefinition, JobDefinitions

JOBS_DOCUMENT = "jobs.json"
T = TypeVar("T")


def job_name(artifact_name: str) -> str:
    """``spark/fx_rate_normalize`` -> ``fx_rate_normalize``."""
    return artifact_name.rsplit("/", 1)[-1]


class ArtifactLocation:
    """Publishes and reads Spark artifacts in one object store (local folder or S3 prefix)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.url = store.url

    def uri(self, key: str) -> str:
        """The address a submitter fetches ``key`` from (``s3://...`` or ``file:///...``)."""
        if self.url.startswith("s3://"):
            return f"{self.url.rstrip('/')}/{key}"
        return (Path(self.url).resolve() / key).as_uri()

    def _call(self, what: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except (StoreUnavailableError, StoreAddressError) as exc:
            raise SparkDeployError(
                f"spark: artifact location {self.url} failed while {what}: {one_line(str(exc), 300)}"
            ) from exc

    def publish_wheel(self, env: Environment, job: str, wheel: Path) -> tuple[str, str]:
        """Upload ``wheel`` create-only under its sha256; returns (key, sha256). Publishing the same
        bytes again writes nothing."""
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        key = f"{env}/wheels/{job}/{sha}/{wheel.name}"
        self._call(f"publishing {key}", lambda: self.store.put_file(key, wheel, sha))
        return key, sha

    def definition_key(self, env: Environment, job: str, digest: str) -> str:
        return f"{env}/definitions/{job}/{digest}.json"

    def publish_definition(self, env: Environment, definition: JobDefinition) -> None:
        """Write a job version's definition create-only (an existing one is left as it is)."""
        key = self.definition_key(env, definition.job, definition.digest)
        body = definition.model_dump_json(indent=2).encode()
        self._call(f"publishing {key}", lambda: self.store.put_if_absent(key, body))

    def definition(self, env: Environment, job: str, digest: str) -> JobDefinition | None:
        """The published definition of ``job`` at artifact ``digest``, or None when not published."""
        key = self.definition_key(env, job, digest)
        obj = self._call(f"reading {key}", lambda: self.store.get(key))
        return JobDefinition.model_validate_json(obj.data) if obj else None

    def live(self, env: Environment) -> tuple[JobDefinitions, str | None]:
        """The definitions ``env`` launches now and the token to replace them (None: none yet)."""
        key = f"{env}/{JOBS_DOCUMENT}"
        obj = self._call(f"reading {key}", lambda: self.store.get(key))
        if obj is None:
            return JobDefinitions(environment=str(env)), None
        try:
            return JobDefinitions.model_validate_json(obj.data), obj.etag
        except ValidationError as exc:
            raise SparkDeployError(
                f"spark: {self.uri(key)} is not a job definitions document: "
                f"{one_line(str(exc), 200)}"
            ) from exc

    def replace_live(self, env: Environment, document: JobDefinitions, etag: str | None) -> None:
        """Replace ``env``'s definitions in one conditional write (local: locked rename; S3: If-Match on
        the ETag read). Another writer in between is an error, never a lost update."""
        key = f"{env}/{JOBS_DOCUMENT}"
        body = document.model_dump_json(indent=2).encode()
        try:
            self._call(f"switching {key}", lambda: self.store.put_if_match(key, body, etag))
        except StaleCasTokenError as exc:
            raise SparkDeployError(
                f"spark: {self.uri(key)} changed while this switch ran; nothing switched"
            ) from exc

    def download(self, key: str, sha256: str, dest: Path) -> Path:
        """Fetch ``key`` into ``dest`` (same file name), checked against ``sha256``."""
        obj = self._call(f"reading {key}", lambda: self.store.get(key))
        if obj is None:
            raise SparkDeployError(f"spark: {self.uri(key)} is missing from the artifact location")
        if hashlib.sha256(obj.data).hexdigest() != sha256:
            raise SparkDeployError(
                f"spark: {self.uri(key)} does not match its sha256 {sha256[:12]}"
            )
        path = dest / key.rsplit("/", 1)[-1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(obj.data)
        return path
