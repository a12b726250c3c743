"""What an environment's topics run, read back: the live schema version against the release's, the
release's schema against the registry's history, and each consumer service's version, task health,
lag, last event and last rollout. Read by ``ReleaseSystem.streaming_health`` and the Dagster checks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from finsight_release.envs.environment import Environment
from finsight_release.errors import StreamingDeployError
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.streaming.schema_order import incompatibilities
from finsight_release.targets.streaming.service_spec import ServiceSpec, read_topic, service_version
from finsight_release.targets.streaming.target import StreamingTarget, registered_number


@dataclass
class ServiceHealth:
    """One consumer service of a topic in an environment."""

    service: str
    expected_version: str
    configured: bool
    problems: list[str] = field(default_factory=list)
    consumer_lag: int | None = None
    last_event_at: float | None = None
    last_rollout: dict[str, Any] | None = None


@dataclass
class TopicHealth:
    """One topic of the release an environment runs."""

    topic: str
    subject: str
    release_id: str
    live_version: int | None
    expected_version: int | None
    compatibility_problems: list[str] = field(default_factory=list)
    services: list[ServiceHealth] = field(default_factory=list)

    @property
    def rollout_problems(self) -> list[str]:
        """Why the topic does not run the release (schema not live, a consumer unhealthy)."""
        problems = []
        if self.expected_version is None or self.live_version != self.expected_version:
            problems.append(
                f"{self.subject} live at v{self.live_version}, the release's schema is "
                f"{'unregistered' if self.expected_version is None else f'v{self.expected_version}'}"
            )
        for service in self.services:
            problems += service.problems
        return problems


def _service_health(
    target: StreamingTarget, env: Environment, spec: ServiceSpec, version: str
) -> ServiceHealth:
    runtime = target.runtime_for(env, spec)
    health = ServiceHealth(spec.service, version, configured=runtime is not None)
    path = target.rollout_path(env, spec.service)
    if path.is_file():
        health.last_rollout = json.loads(path.read_text())
    if runtime is None:
        return health
    try:
        health.problems = runtime.problems(version)
        health.consumer_lag, health.last_event_at = runtime.reading()
    except StreamingDeployError as exc:
        health.problems = [str(exc)]
    rollout = health.last_rollout or {}
    if rollout.get("rolled_back") and rollout.get("to_version") == version:
        health.problems.append(
            f"{spec.service}: the rollout to {version[:12]} was rolled back: {rollout.get('reason')}"
        )
    return health


def read_streaming_health(
    target: StreamingTarget,
    env: Environment,
    manifest: ReleaseManifest,
    repo: ReleaseRepository,
) -> list[TopicHealth]:
    """Every topic of ``manifest`` as ``env`` runs it."""
    registry = target.registry_for(env)
    found = []
    for artifact in manifest.of_kind(ArtifactKind.STREAM_SCHEMA):
        folder = target.staging.stage(env, artifact, repo)
        spec = read_topic(folder)
        number = registered_number(registry, spec)
        versions = registry.versions(spec.subject)
        earlier = [v for v in versions if number is None or v.number < number]
        problems = [
            p.message
            for p in incompatibilities(spec.subject, spec.schema, spec.mode, earlier, None)
        ]
        topic = TopicHealth(
            topic=artifact.name,
            subject=spec.subject,
            release_id=manifest.release_id,
            live_version=registry.live(spec.subject),
            expected_version=number,
            compatibility_problems=problems,
        )
        topic.services = [
            _service_health(target, env, service, service_version(artifact, service.directory))
            for service in spec.services
        ]
        found.append(topic)
    return found
