"""``spark/<job>`` assets: materialized with the environment and release when a promotion switches a job
(through promote_job and through the CLI's InstanceRecorder), and the published-artifact smoke run as an
asset check whose failure marks the release unhealthy in that environment."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.instance_recorder import InstanceRecorder
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.assets.spark_jobs import (
    SMOKE_CHECK,
    spark_job_key,
    spark_job_names,
    spark_job_specs,
    spark_smoke_check,
)
from finsight_release.automation.jobs import promote_job
from finsight_release.envs.environment import Environment
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.system import ReleaseSystem
from tests.targets.spark.spark_world import ARTIFACT, JOB, copy_job

DEV = Environment.DEV
KEY = spark_job_key(JOB)


def test_the_reference_platform_has_one_asset_per_spark_job() -> None:
    assert len(spark_job_names(REPO_ROOT)) == 15
    assert spark_job_specs([JOB])[0].key == KEY


def run_smoke_check(
    resource: ReleaseSystemResource, instance: dg.DagsterInstance
) -> dg.AssetCheckEvaluation:
    """Run dev's smoke check of the one job; its evaluation."""
    check = spark_smoke_check(DEV, [JOB])
    job = dg.define_asset_job("smoke", selection=dg.AssetSelection.checks(check))
    defs = dg.Definitions(
        assets=spark_job_specs([JOB]),
        asset_checks=[check],
        jobs=[job],
        resources={"release_system": resource},
    )
    result = defs.resolve_job_def("smoke").execute_in_process(instance=instance)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == f"dev_{SMOKE_CHECK}"
    return evaluation


def test_promote_job_materializes_the_job_and_a_broken_published_wheel_fails_its_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSIGHT_SPARK_DEPLOY", "on")
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    platform = tmp_path / "platform"
    copy_job(platform)
    instance = dg.DagsterInstance.ephemeral()
    resource = ReleaseSystemResource(
        home=str(tmp_path / "home"), platform=str(platform), actor="ci-bot"
    )
    system = resource.system()
    manifest, _ = system.build(platform, DEV)
    promote_job.execute_in_process(
        run_config={
            "ops": {"promote_op": {"config": {"env": "dev", "release_id": manifest.release_id}}}
        },
        resources={"release_system": resource},
        instance=instance,
    )
    event = instance.get_latest_materialization_event(KEY)
    assert event and event.asset_materialization
    metadata = event.asset_materialization.metadata
    assert metadata["environment"].value == "dev"
    assert metadata["release_id"].value == manifest.release_id
    assert metadata["digest"].value == manifest.artifact(ARTIFACT).digest

    assert run_smoke_check(resource, instance).passed

    # The wheel dev launches is damaged at its artifact location: the check fails, the release is
    # unhealthy in dev (which blocks its promotion to staging).
    wheel_key = system.spark_targets[0].live(DEV).jobs[ARTIFACT].wheel_key
    (tmp_path / "home" / "spark" / wheel_key).write_bytes(b"not a wheel")
    assert not run_smoke_check(resource, instance).passed
    health = system.deployer.ledger.health(DEV, manifest.release_id)
    assert health is not None and not health.healthy
    assert health.reason.startswith(f"spark: spark/{JOB}: ") and "sha256" in health.reason


def test_a_cli_promotion_is_recorded_on_the_spark_job_asset(tmp_path: Path) -> None:
    platform = tmp_path / "platform"
    copy_job(platform)
    recorder = InstanceRecorder(tmp_path / "dagster")
    settings = load_settings(home=tmp_path / "home", platform=platform, actor="alice")
    system = ReleaseSystem(settings.model_copy(update={"spark_deploy": False}), [recorder])
    manifest, _ = system.build(platform, DEV)
    system.promote(DEV, manifest.release_id)
    event = recorder.instance.get_latest_materialization_event(KEY)
    assert event and event.asset_materialization
    metadata = event.asset_materialization.metadata
    assert (metadata["environment"].value, metadata["release_id"].value) == (
        "dev",
        manifest.release_id,
    )
    assert metadata["actor"].value == "alice" and metadata["operation"].value == "promote"


def test_with_spark_deploys_off_the_check_passes_as_not_deployed(tmp_path: Path) -> None:
    resource = ReleaseSystemResource(home=str(tmp_path / "home"), platform=str(tmp_path))
    evaluation = run_smoke_check(resource, dg.DagsterInstance.ephemeral())
    assert evaluation.passed and evaluation.description == "not deployed in dev"
    assert evaluation.metadata["deployed"].value is False
