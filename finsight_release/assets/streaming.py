# No `from __future__ import annotations`: Dagster inspects the check function annotations at runtime.
"""Kafka topics as Dagster assets: ``streaming/<topic>``, one per topic of the platform tree.

As with ``spark/<job>``, the environment is metadata, not a key: a promotion, rollback or takeover
that switches a topic in an environment materializes ``streaming/<topic>`` with that environment and
the release it now runs (``environment`` and ``release_id`` metadata, data version = the topic
artifact's digest), from the Dagster jobs and the CLI's InstanceRecorder alike.

``<env>_streaming_health`` checks read each topic as the environment runs it
(``ReleaseSystem.streaming_health``, which audits and marks the release unhealthy in that environment
when a schema is not live or a consumer is not healthy): ``<env>_schema_compatibility`` (the
release's schema against the registry's earlier versions, with the validation check's code) and
``<env>_rollout_health`` (schema live, every consumer on the release's version with all tasks
healthy, last rollout not rolled back). The same run records consumer lag and last-event time as
observations of ``streaming/<topic>``. Prod's checks are ERROR (the rollback sensor acts on them);
dev's and staging's are WARN.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from finsight_release.assets.releases import deployment_key
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.assets.switched_units import switched_materializations
from finsight_release.envs.environment import Environment
from finsight_release.envs.operation import OperationRecord
from finsight_release.errors import FinsightError
from finsight_release.one_line import one_line
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.settings import load_settings
from finsight_release.targets.streaming.health import TopicHealth

STREAMING_DIR = Path("release_assets/streaming")
COMPATIBILITY_CHECK = "schema_compatibility"
ROLLOUT_CHECK = "rollout_health"


def topic_key(topic: str) -> dg.AssetKey:
    """``streaming/<topic>`` (the topic's directory name)."""
    return dg.AssetKey(["streaming", topic])


def topic_names(platform: Path) -> list[str]:
    """The topics of a platform tree (directories with a schema.avsc)."""
    root = platform / STREAMING_DIR
    return sorted(p.parent.name for p in root.glob("*/schema.avsc")) if root.is_dir() else []


def topic_specs(topics: list[str]) -> list[dg.AssetSpec]:
    """One spec per topic, downstream of the prod stream-schema deployment."""
    return [
        dg.AssetSpec(
            topic_key(topic),
            deps=[deployment_key(Environment.PROD, ArtifactKind.STREAM_SCHEMA)],
            group_name="streaming",
            kinds={"kafka"},
            description=f"Kafka topic {topic}: its registered schema and consumer services per "
            "environment (environment and release id in metadata; lag and last event observed)",
        )
        for topic in topics
    ]


def topic_materializations(
    env: Environment, manifest: ReleaseManifest, record: OperationRecord
) -> Iterator[dg.AssetMaterialization]:
    """``streaming/<topic>`` materializations for each topic ``record`` switched in ``env``."""
    return switched_materializations(env, manifest, record, ArtifactKind.STREAM_SCHEMA, topic_key)


def topic_observation(env: Environment, topic: TopicHealth) -> dg.AssetObservation:
    """Consumer lag and last-event time of a topic's services in ``env``."""
    lags = [s.consumer_lag for s in topic.services if s.consumer_lag is not None]
    last = [s.last_event_at for s in topic.services if s.last_event_at is not None]
    metadata: dict[str, str | int] = {
        "environment": str(env),
        "release_id": topic.release_id,
        "schema_version": topic.live_version if topic.live_version is not None else "none",
        "consumer_lag": max(lags) if lags else "unknown",
        "last_event_at": (
            datetime.fromtimestamp(max(last), UTC).isoformat() if last else "no event yet"
        ),
        "services": ", ".join(s.service for s in topic.services) or "none",
    }
    return dg.AssetObservation(
        asset_key=topic_key(topic.topic.rsplit("/", 1)[-1]), metadata=metadata
    )


def streaming_health_check(env: Environment, topics: list[str]) -> dg.AssetChecksDefinition:
    """``env``'s schema-compatibility and rollout-health checks of every topic."""
    severity = (
        dg.AssetCheckSeverity.ERROR if env is Environment.PROD else dg.AssetCheckSeverity.WARN
    )
    specs = [
        dg.AssetCheckSpec(
            f"{env}_{name}",
            asset=topic_key(topic),
            description=description,
        )
        for topic in topics
        for name, description in (
            (
                COMPATIBILITY_CHECK,
                f"the schema {env} runs is compatible with the registry's earlier versions "
                "under the topic's mode",
            ),
            (
                ROLLOUT_CHECK,
                f"{env}'s live schema is the release's and every consumer runs the release's "
                "version with all tasks healthy",
            ),
        )
    ]

    @dg.multi_asset_check(specs=specs, name=f"{env}_streaming_health", can_subset=True)
    def _check(
        context: dg.AssetCheckExecutionContext, release_system: ReleaseSystemResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = {(key.asset_key.path[-1], key.name) for key in context.selected_asset_check_keys}
        try:
            found = {
                t.topic.rsplit("/", 1)[-1]: t for t in release_system.system().streaming_health(env)
            }
            error = None
        except FinsightError as exc:  # registry unreadable: every check says why
            found, error = {}, one_line(str(exc), 300)
        for topic in found.values():
            context.instance.report_runless_asset_event(topic_observation(env, topic))
        for name, check in sorted(selected):
            health = found.get(name)
            if check.endswith(COMPATIBILITY_CHECK):
                problems = [error] if error else health.compatibility_problems if health else []
            else:
                problems = [error] if error else health.rollout_problems if health else []
            yield dg.AssetCheckResult(
                asset_key=topic_key(name),
                check_name=check,
                passed=not problems,
                severity=severity,
                metadata={
                    "environment": str(env),
                    "release_id": health.release_id if health else "",
                    "problems": "; ".join(problems),
                },
                description="; ".join(problems)
                or (f"{name} healthy in {env}" if health else f"{name} not deployed in {env}"),
            )

    return _check


TOPICS = topic_names(load_settings().platform)
topic_assets = topic_specs(TOPICS)
streaming_health_checks = [streaming_health_check(env, TOPICS) for env in Environment if TOPICS]
streaming_health_job = dg.define_asset_job(
    "streaming_health_job",
    selection=dg.AssetSelection.checks(*streaming_health_checks),
    description="Check every environment's topics: schema compatibility, rollout health, and "
    "observe consumer lag and last-event time.",
)
