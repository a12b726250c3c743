# No `from __future__ import annotations`: Dagster inspects the check function annotations at runtime.
"""Spark jobs as Dagster assets: ``spark/<job>``, one per job of the platform tree.

A promotion, rollback or takeover that switches a job's definition in an environment materializes
``spark/<job>`` with that environment and the release it now runs (``environment`` and ``release_id``
metadata, data version = the job's digest), through the same two doors as the ``<env>/<kind>``
deployment assets: the Dagster jobs (``promote_job``, ``rollback_job``) and the CLI's
:class:`~finsight_release.assets.instance_recorder.InstanceRecorder`. Each asset hangs off the prod
``spark_jobs`` deployment, as the platform's other assets do.

``<env>_published_smoke_run`` checks download the wheel each environment launches from its artifact
location, install it on the Spark runtime and run ``main`` on the job's sample
(``ReleaseSystem.spark_smoke``, which audits and marks the release unhealthy in that environment on a
failure). Prod's are ERROR (the rollback sensor attributes them to prod's live change); dev's and
staging's are WARN: their failure blocks the next promotion through the health record instead.
"""

from collections.abc import Iterator
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

SPARK_DIR = Path("release_assets/spark")
SMOKE_CHECK = "published_smoke_run"


def spark_job_key(job: str) -> dg.AssetKey:
    """``spark/<job>``."""
    return dg.AssetKey(["spark", job])


def spark_job_names(platform: Path) -> list[str]:
    """The Spark jobs of a platform tree (directories with a job.yaml)."""
    root = platform / SPARK_DIR
    return sorted(p.parent.name for p in root.glob("*/job.yaml")) if root.is_dir() else []


def spark_job_specs(jobs: list[str]) -> list[dg.AssetSpec]:
    """One spec per Spark job, downstream of the prod Spark deployment."""
    return [
        dg.AssetSpec(
            spark_job_key(job),
            deps=[deployment_key(Environment.PROD, ArtifactKind.SPARK_JOB)],
            group_name="spark_jobs",
            kinds={"spark"},
            description=f"Spark job {job}: the wheel each environment launches, one materialization "
            "per switch (environment and release id in metadata)",
        )
        for job in jobs
    ]


def spark_job_materializations(
    env: Environment, manifest: ReleaseManifest, record: OperationRecord
) -> Iterator[dg.AssetMaterialization]:
    """``spark/<job>`` materializations for each job ``record`` switched in ``env`` to ``manifest``."""
    return switched_materializations(env, manifest, record, ArtifactKind.SPARK_JOB, spark_job_key)


def spark_smoke_check(env: Environment, jobs: list[str]) -> dg.AssetChecksDefinition:
    """``env``'s published-artifact smoke run of every job, one check result per job."""
    severity = (
        dg.AssetCheckSeverity.ERROR if env is Environment.PROD else dg.AssetCheckSeverity.WARN
    )
    specs = [
        dg.AssetCheckSpec(
            f"{env}_{SMOKE_CHECK}",
            asset=spark_job_key(job),
            description=f"the wheel {env} launches, downloaded from its artifact location, installs "
            "on the Spark runtime and runs main on the job's sample",
        )
        for job in jobs
    ]

    @dg.multi_asset_check(specs=specs, name=f"{env}_spark_smoke", can_subset=True)
    def _check(
        context: dg.AssetCheckExecutionContext, release_system: ReleaseSystemResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = [key.asset_key.path[-1] for key in context.selected_asset_check_keys]
        system = release_system.system()
        results: dict[str, str | None] = {}
        release_id, error = "", None
        if system.spark_targets:  # deploys off: nothing is published, every job is "not deployed"
            try:
                smoke = system.spark_smoke(env, [f"spark/{j}" for j in selected])
                results, release_id = smoke.jobs, smoke.release_id or ""
            except FinsightError as exc:  # e.g. the location is unreachable: every job says why
                error = one_line(str(exc), 300)
        for job in sorted(selected):
            name = f"spark/{job}"
            deployed = name in results
            problem = error or results.get(name)
            yield dg.AssetCheckResult(
                asset_key=spark_job_key(job),
                check_name=f"{env}_{SMOKE_CHECK}",
                passed=problem is None,
                severity=severity,
                metadata={
                    "environment": str(env),
                    "release_id": release_id,
                    "deployed": deployed,
                    "problem": problem or "",
                },
                description=problem
                or (f"published wheel runs in {env}" if deployed else f"not deployed in {env}"),
            )

    return _check


SPARK_JOBS = spark_job_names(load_settings().platform)
spark_job_assets = spark_job_specs(SPARK_JOBS)
spark_smoke_checks = [spark_smoke_check(env, SPARK_JOBS) for env in Environment if SPARK_JOBS]
spark_smoke_job = dg.define_asset_job(
    "spark_smoke_job",
    selection=dg.AssetSelection.checks(*spark_smoke_checks),
    description="Smoke-run the published Spark wheels every environment launches.",
)
