"""Scheduled detection checks on the environment deployment assets: drift and live schema."""

import dagster as dg

from finsight_release.assets.pipeline import pipeline_checks
from finsight_release.assets.releases import deployment_key
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.diagnose.detection import credential_findings, drift_findings, schema_findings
from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import ArtifactKind


def _result(problems: list[str], what: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "findings": len(problems),
            "details": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:50])),
        },
        description=f"{len(problems)} {what}" if problems else f"no {what}",
    )


def drift_check(env: Environment) -> dg.AssetChecksDefinition:
    """Fails while the latest refresh-only plan of ``env`` shows resources changed outside Terraform."""

    @dg.asset_check(asset=deployment_key(env, ArtifactKind.TERRAFORM_STACK), name="no_infra_drift")
    def _check(release_system: ReleaseSystemResource) -> dg.AssetCheckResult:
        return _result(
            drift_findings(release_system.system().settings.home, env), "drifted resources"
        )

    return _check


def schema_check(env: Environment) -> dg.AssetChecksDefinition:
    """Fails while the live warehouse schema of ``env`` differs from the raw-table contract."""

    @dg.asset_check(
        asset=deployment_key(env, ArtifactKind.DBT_PROJECT), name="live_schema_matches_contracts"
    )
    def _check(release_system: ReleaseSystemResource) -> dg.AssetCheckResult:
        warehouse = release_system.system().settings.warehouse_path / f"{env}.duckdb"
        return _result(schema_findings(warehouse, None), "schema differences")

    return _check


def credential_check(env: Environment) -> dg.AssetChecksDefinition:
    """Fails while a secret the deployed env config references is missing or older than 90 days."""

    @dg.asset_check(asset=deployment_key(env, ArtifactKind.ENV_CONFIG), name="credentials_fresh")
    def _check(release_system: ReleaseSystemResource) -> dg.AssetCheckResult:
        from finsight_release.diagnose.layers import secret_refs

        system = release_system.system()
        ctx = system.doctor_context(env)
        findings = credential_findings(sorted(set(secret_refs(ctx.config))), system.settings.mode)
        return _result(findings, "stale or missing credentials")

    return _check


detection_checks = [
    check
    for env in Environment
    for check in (drift_check(env), schema_check(env), credential_check(env))
]

detection_job = dg.define_asset_job(
    "detection_checks_job",
    selection=dg.AssetSelection.checks(*detection_checks, *pipeline_checks),
    description="Drift, live-schema and credential detectors, and which environments are behind.",
)
detection_schedule = dg.ScheduleDefinition(
    job=detection_job, cron_schedule="*/30 * * * *", default_status=dg.DefaultScheduleStatus.RUNNING
)
