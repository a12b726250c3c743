"""The streaming target as an installation configures it, from environment variables.

    FINSIGHT_KAFKA_BOOTSTRAP_<ENV>      broker of an environment (else FINSIGHT_KAFKA_BOOTSTRAP);
                                        without one, local consumer services are not run there
    FINSIGHT_ECS_CLUSTER_<ENV>          AWS mode: the ECS cluster running the consumer services
    FINSIGHT_STREAM_CONSUMER_IMAGE      AWS mode: the consumer image (repository@digest)
    FINSIGHT_MSK_CLUSTER_<ENV>          AWS mode: the MSK cluster name whose CloudWatch metrics give
                                        consumer lag (else FINSIGHT_MSK_CLUSTER; unset: lag unknown)
    FINSIGHT_STREAMING_GAP_BUDGET_S     longest consumption gap a rollout may cause (default 120)
    FINSIGHT_STREAMING_HEALTH_GRACE_S   how long a new task has to become healthy (default 30)
    FINSIGHT_SCHEMA_NONE_OVERRIDE       a reason: deploy topics whose compatibility is NONE anyway

Local mode keeps the schema registry under ``<home>/streaming/<env>/registry``, the services under
``<home>/streaming/<env>/services`` and the consumers' sink in the warehouse directory
(``streaming_<env>.duckdb``). AWS mode uses Glue registry ``finsight-<env>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from finsight_release.envs.environment import Environment
from finsight_release.settings import Settings
from finsight_release.targets.streaming.local_service import LocalConsumerService
from finsight_release.targets.streaming.rollout import RolloutPolicy
from finsight_release.targets.streaming.runtime import ConsumerRuntime, LocalConsumerRuntime
from finsight_release.targets.streaming.schema_registry import (
    GlueSchemaRegistry,
    LocalSchemaRegistry,
    SchemaRegistry,
)
from finsight_release.targets.streaming.service_spec import ServiceSpec
from finsight_release.targets.streaming.target import StreamingTarget


def _per_env(environ: Mapping[str, str], name: str, env: Environment) -> str:
    return (environ.get(f"{name}_{str(env).upper()}") or environ.get(name) or "").strip()


def rollout_policy(environ: Mapping[str, str] | None = None) -> RolloutPolicy:
    """The rollout policy with the configured budget and grace."""
    environ = os.environ if environ is None else environ
    return RolloutPolicy(
        gap_budget_s=float(environ.get("FINSIGHT_STREAMING_GAP_BUDGET_S") or 120),
        health_grace_s=float(environ.get("FINSIGHT_STREAMING_HEALTH_GRACE_S") or 30),
    )


def streaming_root(settings: Settings) -> Path:
    return settings.home / "streaming"


def sink_path(settings: Settings, env: Environment) -> Path:
    """The DuckDB file local consumers of ``env`` write to."""
    return settings.warehouse_path / f"streaming_{env}.duckdb"


def registry_for(settings: Settings, env: Environment) -> SchemaRegistry:
    """The schema registry of ``env``."""
    if settings.is_aws:
        return GlueSchemaRegistry(f"finsight-{env}")
    return LocalSchemaRegistry(streaming_root(settings) / str(env) / "registry")


def runtime_for(
    settings: Settings,
    env: Environment,
    spec: ServiceSpec,
    environ: Mapping[str, str] | None = None,
) -> ConsumerRuntime | None:
    """Where ``spec`` runs in ``env``; None when nothing is configured to run it."""
    environ = os.environ if environ is None else environ
    policy = rollout_policy(environ)
    if settings.is_aws:
        from finsight_release.targets.streaming.cloudwatch import ConsumerMetrics
        from finsight_release.targets.streaming.ecs import EcsConsumerRuntime

        cluster = _per_env(environ, "FINSIGHT_ECS_CLUSTER", env)
        image = environ.get("FINSIGHT_STREAM_CONSUMER_IMAGE", "").strip()
        msk = _per_env(environ, "FINSIGHT_MSK_CLUSTER", env)
        metrics = ConsumerMetrics(msk) if msk else None
        if not (cluster and image):
            return None
        return EcsConsumerRuntime(spec, cluster, image, policy, metrics=metrics)
    bootstrap = _per_env(environ, "FINSIGHT_KAFKA_BOOTSTRAP", env)
    if not bootstrap:
        return None
    root = streaming_root(settings) / str(env) / "services" / spec.service
    service = LocalConsumerService(root, spec, bootstrap, sink_path(settings, env))
    return LocalConsumerRuntime(service, policy)


def streaming_target(settings: Settings) -> StreamingTarget:
    """The streaming target of an installation."""
    return StreamingTarget(
        streaming_root(settings),
        lambda env: registry_for(settings, env),
        lambda env, spec: runtime_for(settings, env, spec),
        none_override=os.environ.get("FINSIGHT_SCHEMA_NONE_OVERRIDE") or None,
    )
