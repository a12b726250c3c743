"""The streaming deploy target: a release's changed topics, schema and consumers, in a safe order.

``prepare`` stages each changed topic directory, decides with the validation check's own code that
its new schema may follow what the registry holds (nothing is registered yet), refuses a NONE topic
without an override, and checks that the broker of every changed consumer answers. ``switch``
registers the schema and moves the subject's live version, and rolls the topic's changed consumer
services, in the order the topic's mode requires (``schema_order.py``). Rolling back to an older
release re-points to the version registered before (never deleting one) and rolls consumers back,
in the reverse order. Each rollout's report is kept under ``<root>/<env>/rollouts/<service>.json``.

A consumer the release no longer has (its directory removed from the topic, or the whole topic
retired) is stopped: the services each topic runs are recorded under
``<root>/<env>/consumers/<topic>.json`` at every switch, and one missing from the new release's
topic stops. Switching back to a release that has it starts it again (a stopped service runs no
version, so any deploy of it is a change).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, fields
from pathlib import Path

from finsight_release.envs.environment import Environment
from finsight_release.errors import RolloutStoppedError, StreamingDeployError, TargetError
from finsight_release.observe.logging import get_logger
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.folder import FolderTarget
from finsight_release.targets.streaming.rollout import RolloutReport
from finsight_release.targets.streaming.runtime import ConsumerRuntime
from finsight_release.targets.streaming.schema_order import (
    Order,
    deploy_order,
    incompatibilities,
)
from finsight_release.targets.streaming.schema_registry import SchemaRegistry, same_definition
from finsight_release.targets.streaming.service_spec import (
    CONSUMERS_DIR,
    ServiceSpec,
    TopicSpec,
    read_topic,
    service_version,
)

RegistryFor = Callable[[Environment], SchemaRegistry]
# None: the environment runs no consumers here (no broker or cluster configured for it).
RuntimeFor = Callable[[Environment, ServiceSpec], ConsumerRuntime | None]


class StreamingTarget:
    """Deploys ``stream_schema`` artifacts: registry subjects and consumer services."""

    name = "streaming"
    kinds = frozenset({ArtifactKind.STREAM_SCHEMA})

    def __init__(
        self,
        root: Path,
        registry_for: RegistryFor,
        runtime_for: RuntimeFor,
        none_override: str | None = None,
    ) -> None:
        self.root = Path(root)
        self.registry_for = registry_for
        self.runtime_for = runtime_for
        self.none_override = none_override
        self.staging = FolderTarget(self.root, self.kinds, self.name)
        self.log = get_logger("finsight.streaming")
        self.steps: list[str] = []  # what the last switch did, in order (read by tests and logs)

    def _topic(self, env: Environment, artifact: Artifact) -> tuple[Path, TopicSpec]:
        folder = self.staging.version_dir(env, artifact)
        if not folder.is_dir():
            raise TargetError(f"streaming: {artifact} is not staged in {env}")
        return folder, read_topic(folder)

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Stage, then refuse what cannot deploy, before anything is registered or started."""
        for artifact in artifacts:
            self.staging.stage(env, artifact, repo)
        registry = self.registry_for(env)
        for artifact in artifacts:
            _, spec = self._topic(env, artifact)
            number = registered_number(registry, spec)
            live = registry.live(spec.subject)
            deploy_order(spec.subject, spec.mode, _is_rollback(number, live), self.none_override)
            if number is None:
                found = incompatibilities(
                    spec.subject, spec.schema, spec.mode, registry.versions(spec.subject), live
                )
                if found:
                    raise StreamingDeployError(
                        f"streaming/schema: {spec.subject} not registered: {found[0].message}"
                        + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")
                    )
            for service in self._changed_services(env, artifact, spec):
                runtime = self.runtime_for(env, service)
                if runtime is not None:
                    runtime.preflight()

    def _changed_services(
        self, env: Environment, artifact: Artifact, spec: TopicSpec
    ) -> list[ServiceSpec]:
        changed = []
        for service in spec.services:
            runtime = self.runtime_for(env, service)
            live = runtime.live_version() if runtime is not None else ""
            if live != service_version(artifact, service.directory):
                changed.append(service)
        return changed

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None:
        """Per topic: schema and consumers in the mode's order. Retired topics keep their registered
        versions (a registry never forgets a schema data may have been written with)."""
        self.steps = []
        registry = self.registry_for(env)
        for name in retired:
            self._stop_removed(env, name, keep=())
            self.consumers_path(env, name).unlink(missing_ok=True)
        for artifact in artifacts:
            folder, spec = self._topic(env, artifact)
            number = registered_number(registry, spec)
            live = registry.live(spec.subject)
            order = deploy_order(
                spec.subject, spec.mode, _is_rollback(number, live), self.none_override
            )
            if order is Order.CONSUMERS_FIRST:
                self._roll_consumers(env, artifact, folder, spec)
                self._point_schema(env, spec, registry)
            else:
                self._point_schema(env, spec, registry)
                self._roll_consumers(env, artifact, folder, spec)

    def _point_schema(self, env: Environment, spec: TopicSpec, registry: SchemaRegistry) -> None:
        number = registry.register(spec.subject, spec.schema, spec.mode)
        if registry.live(spec.subject) != number:
            registry.point(spec.subject, number)
        self.steps.append(f"schema {spec.subject} v{number}")
        self.log.info("schema live", subject=spec.subject, version=number, environment=str(env))

    def _roll_consumers(
        self, env: Environment, artifact: Artifact, folder: Path, spec: TopicSpec
    ) -> None:
        self._stop_removed(env, artifact.name, keep={s.service for s in spec.services})
        for service in spec.services:
            runtime = self.runtime_for(env, service)
            version = service_version(artifact, service.directory)
            if runtime is None:
                self.log.warning(
                    "consumer not run: no broker configured",
                    service=service.service,
                    environment=str(env),
                )
                continue
            if runtime.live_version() == version:
                continue
            self.steps.append(f"consumer {service.service} {version[:12]}")
            try:
                report = runtime.deploy(version, folder / CONSUMERS_DIR / service.directory)
            except RolloutStoppedError as exc:
                if isinstance(exc.report, RolloutReport):
                    self.record_rollout(env, exc.report)
                raise
            self.record_rollout(env, report)
        self._record_consumers(env, artifact.name, spec.services)

    def consumers_path(self, env: Environment, topic_artifact: str) -> Path:
        """Where the consumer services a topic runs in ``env`` are recorded."""
        return self.root / str(env) / "consumers" / f"{topic_artifact}.json"

    def _recorded_consumers(self, env: Environment, topic_artifact: str) -> list[ServiceSpec]:
        path = self.consumers_path(env, topic_artifact)
        if not path.is_file():
            return []
        names = {f.name for f in fields(ServiceSpec)}
        return [
            ServiceSpec(**{k: v for k, v in body.items() if k in names})
            for body in json.loads(path.read_text())
        ]

    def _record_consumers(
        self, env: Environment, topic_artifact: str, services: Sequence[ServiceSpec]
    ) -> None:
        path = self.consumers_path(env, topic_artifact)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps([asdict(s) for s in services], sort_keys=True))
        os.replace(tmp, path)

    def _stop_removed(self, env: Environment, topic_artifact: str, keep: Collection[str]) -> None:
        """Stop the recorded consumers of a topic that are not in ``keep``."""
        for service in self._recorded_consumers(env, topic_artifact):
            if service.service in keep:
                continue
            runtime = self.runtime_for(env, service)
            if runtime is None or not runtime.live_version():
                continue
            runtime.stop()
            self.steps.append(f"consumer {service.service} stopped")
            self.log.info(
                "consumer stopped: not in the release",
                service=service.service,
                topic=topic_artifact,
                environment=str(env),
            )

    def record_rollout(self, env: Environment, report: RolloutReport) -> None:
        """Keep the last rollout report of a service (read by the Dagster rollout-health check)."""
        path = self.rollout_path(env, report.service)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(report), sort_keys=True))
        os.replace(tmp, path)

    def rollout_path(self, env: Environment, service: str) -> Path:
        return self.root / str(env) / "rollouts" / f"{service}.json"

    def verify(
        self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]
    ) -> list[str]:
        """Each subject's live version is the release's schema; each consumer runs its version with
        every task healthy."""
        problems: list[str] = []
        registry = self.registry_for(env)
        for artifact in artifacts:
            folder, spec = self._topic(env, artifact)
            number = registered_number(registry, spec)
            live = registry.live(spec.subject)
            if number is None or live != number:
                problems.append(f"{spec.subject} live at v{live}, expected the release's schema")
            for service in spec.services:
                runtime = self.runtime_for(env, service)
                if runtime is not None:
                    problems += runtime.problems(service_version(artifact, service.directory))
        return problems


def registered_number(registry: SchemaRegistry, spec: TopicSpec) -> int | None:
    """The registered version number with the topic's schema, or None."""
    for version in registry.versions(spec.subject):
        if same_definition(version.definition, spec.schema):
            return version.number
    return None


def _is_rollback(number: int | None, live: int | None) -> bool:
    return number is not None and live is not None and number < live
