# No `from __future__ import annotations` here: Dagster resolves op config types from live annotations.
"""Jobs that run the core's build, promote and rollback and report them as asset materializations.

CI launches these through Dagster's GraphQL API (``launchRun``); the CLI runs the same core calls
without a daemon.
"""

import os
from collections.abc import Iterator
from typing import Any

import dagster as dg

from finsight_release.assets.checks import release_validation
from finsight_release.assets.dbt_in_run import DbtInRun
from finsight_release.assets.judgement_checks import judgement_evaluations
from finsight_release.assets.model_deployments import model_materializations
from finsight_release.assets.releases import (
    RELEASES_PARTITION,
    deployment_materializations,
    release_materializations,
)
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.assets.spark_jobs import spark_job_materializations
from finsight_release.assets.streaming import topic_materializations
from finsight_release.envs.environment import Environment
from finsight_release.envs.operation import OperationRecord
from finsight_release.observe.dora import dora_metadata
from finsight_release.observe.logging import log_context
from finsight_release.reference.dbt_runner import dbt_executable
from finsight_release.system import ReleaseSystem

# Deployment metadata: the verdict of the post-deploy checks the deploying run judged.
JUDGED_METADATA = "post_deploy_checks"


class BuildConfig(dg.Config):
    """Which platform tree to build (empty: the configured default) and the change-set base."""

    platform: str = ""
    base_env: str = "prod"


class PromoteConfig(dg.Config):
    """Promote ``release_id`` to ``env``; ``emergency_override`` skips the order gate (audited)."""

    env: str
    release_id: str
    emergency_override: str = ""


class RollbackConfig(dg.Config):
    """Roll ``env`` back to ``to_release`` (empty: the previous release)."""

    env: str
    to_release: str = ""


@dg.op(out={"release_id": dg.Out(str)})
def build_release_op(
    context: dg.OpExecutionContext, config: BuildConfig, release_system: ReleaseSystemResource
) -> Iterator[dg.AssetMaterialization | dg.Output]:
    """Build the release, register its partition and materialize its artifact assets."""
    from pathlib import Path

    system = release_system.system(actor=run_actor(context, release_system))
    platform = Path(config.platform).resolve() if config.platform else None
    manifest, created = system.build(
        platform, Environment.parse(config.base_env), progress=context.log.info
    )
    context.instance.add_dynamic_partitions(RELEASES_PARTITION, [manifest.release_id])
    context.log.info(f"{manifest.release_id} {'built' if created else 'already built'}")
    yield from release_materializations(manifest)
    yield dg.Output(manifest.release_id, "release_id")


def judged_now(context: dg.OpExecutionContext, system: ReleaseSystem, env: Environment) -> str:
    """Run the post-deploy checks on what ``env`` runs now, in this run (``ReleaseSystem.judge``:
    they settle the release's health), and record each result as an asset check evaluation of this
    run; returns the verdict. Judging here rather than in a run of its own saves the
    ``after_deployments`` sensor a run (a process loading the code location) per deployment."""
    judgement = system.judge(env)
    for evaluation in judgement_evaluations(judgement.results):
        # Recorded under this run's id (log_event handles check evaluations; its type hint lags).
        context.log_event(evaluation)  # type: ignore[arg-type]
    context.log.info(f"{env}: post-deploy checks {judgement.verdict} ({len(judgement.results)})")
    return judgement.verdict


def _deployed(
    context: dg.OpExecutionContext,
    system: ReleaseSystem,
    record: OperationRecord,
    judge: bool,
    built: DbtInRun | None = None,
) -> Iterator[dg.AssetMaterialization]:
    live = record.live_release  # a rollback that undid a crashed operation: its from_release
    if live is None:
        return
    manifest = system.repo.get(live)
    # The environment's DORA metrics of the week ride on each deployment: the UI plots them; the
    # verdict of the checks judged in this run tells after_deployments not to judge it again.
    extra: dict[str, Any] = dict(dora_metadata(system.dora(), str(record.environment)))
    if judge:
        extra[JUDGED_METADATA] = judged_now(context, system, record.environment)
    yield from deployment_materializations(
        record.environment,
        manifest,
        record.actor,
        record.kind,
        record.change_set.summary(),
        extra,
        diffs=system.data_diffs(live, [record.environment]),
    )
    yield from spark_job_materializations(record.environment, manifest, record)
    models = system.environment_models(record.environment)
    if models is not None:  # each dbt model env now runs, in its partition
        yield from model_materializations(models, record, built.built if built else None)
    yield from topic_materializations(record.environment, manifest, record)


def run_actor(context: dg.OpExecutionContext, release_system: ReleaseSystemResource) -> str:
    """Who acts in a run, for the audit trail: the CI user or sensor that launched it
    (``finsight/actor``), the person who launched it from the UI (``dagster/user``), the sensor or
    schedule that requested it, else the resource's or the environment's configured actor, else the
    run itself (never "unknown")."""
    tags = context.run.tags
    if tags.get("finsight/actor"):
        return tags["finsight/actor"]
    if tags.get("dagster/user"):
        return tags["dagster/user"]
    if tags.get("dagster/sensor_name"):
        return f"sensor:{tags['dagster/sensor_name']}"
    if tags.get("dagster/schedule_name"):
        return f"schedule:{tags['dagster/schedule_name']}"
    return (
        release_system.actor or os.environ.get("FINSIGHT_ACTOR") or f"dagster-run:{context.run_id}"
    )


@dg.op(out={"operation_id": dg.Out(str)})
def promote_op(
    context: dg.OpExecutionContext, config: PromoteConfig, release_system: ReleaseSystemResource
) -> Iterator[dg.AssetMaterialization | dg.Output]:
    """Promote a release through the core state machine; its dbt builds run through dagster-dbt in
    this run (:class:`DbtInRun`)."""
    dbt = DbtInRun(context, dbt_executable())
    system = release_system.system(actor=run_actor(context, release_system), dbt_invoker=dbt)
    with log_context(dagster_run_id=context.run_id):  # on every log line, metric and audit event
        record = system.deployer.promote(
            Environment.parse(config.env),
            config.release_id,
            override_reason=config.emergency_override or None,
        )
    context.log.info(f"{record.environment}: {record.to_release} {record.state} ({record.id})")
    yield from _deployed(context, system, record, judge=True, built=dbt)
    yield dg.Output(record.id, "operation_id")


@dg.op(out={"operation_id": dg.Out(str)})
def rollback_op(
    context: dg.OpExecutionContext, config: RollbackConfig, release_system: ReleaseSystemResource
) -> Iterator[dg.AssetMaterialization | dg.Output]:
    """Roll an environment back (pointer move plus re-applying what changed; no rebuild)."""
    system = release_system.system(actor=run_actor(context, release_system))
    with log_context(dagster_run_id=context.run_id):
        record = system.deployer.rollback(Environment.parse(config.env), config.to_release or None)
    context.log.info(f"{record.environment}: rolled back to {record.to_release} ({record.id})")
    # Not judged here: the run ends as soon as the previous release is live again, and
    # after_deployments judges it in a run of its own.
    yield from _deployed(context, system, record, judge=False)
    yield dg.Output(record.id, "operation_id")


@dg.job(tags={"finsight/operation": "build"})
def build_release_job() -> None:
    """Build the release of the platform tree and record its artifacts."""
    build_release_op()


@dg.job(tags={"finsight/operation": "promote"})
def promote_job() -> None:
    """Promote a release to an environment."""
    promote_op()


@dg.job(tags={"finsight/operation": "rollback"})
def rollback_job() -> None:
    """Roll an environment back to its previous release."""
    rollback_op()


validate_release_job = dg.define_asset_job(
    "validate_release_job",
    selection=dg.AssetSelection.checks(release_validation),
    description="Run the blocking pre-deploy validation checks on one release (config: release_id, env).",
)
