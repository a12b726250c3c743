"""After each deployment the ``after_deployments`` sensor requests the raw-table observation and the
post-deploy checks of that environment, whichever door the deployment came through; the checks run
settles the release's health from evidence, and the schedule re-judges every running environment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.releases import deployment_key, deployment_materializations
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import JUDGED_METADATA, promote_job
from finsight_release.automation.post_deploy import (
    after_deployments,
    post_deploy_checks_job,
    post_deploy_checks_schedule,
    post_deploy_requests,
)
from finsight_release.definitions import defs
from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from tests.mini_platform import make_platform

DEV = Environment.DEV


@pytest.fixture
def resource(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReleaseSystemResource:
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    return ReleaseSystemResource(home=str(tmp_path / "home"), actor="ci")


def built_and_idle(
    resource: ReleaseSystemResource, tmp_path: Path
) -> tuple[ReleaseSystem, ReleaseManifest, dg.DagsterInstance, dg.SensorResult]:
    """A release built (nothing deployed) and the sensor's tick before any deployment."""
    system = resource.system()
    release, _ = system.build(make_platform(tmp_path / "p", without="dbt_project"))
    instance = dg.DagsterInstance.ephemeral()
    idle = after_deployments.evaluate_tick(dg.build_sensor_context(instance=instance, cursor="{}"))
    assert not idle.run_requests and idle.skip_message == "no new deployment"
    return system, release, instance, idle


def test_a_promote_run_judges_its_deployment_and_the_sensor_does_not_judge_it_again(
    resource: ReleaseSystemResource, tmp_path: Path
) -> None:
    system, release, instance, idle = built_and_idle(resource, tmp_path)
    promote_job.execute_in_process(
        run_config={
            "ops": {"promote_op": {"config": {"env": "dev", "release_id": release.release_id}}}
        },
        resources={"release_system": resource},
        instance=instance,
        tags={"finsight/actor": "sensor:promote_dev_when_ready"},
    )
    health = system.deployer.ledger.health(DEV, release.release_id)
    assert health is not None and health.healthy  # judged in the run: no dbt project, nothing fails
    judged = system.audit.events(environment="dev", action="checks")[0]
    assert judged["outcome"] == "passed" and judged["release_id"] == release.release_id
    assert judged["actor"] == "sensor:promote_dev_when_ready"
    deployed = instance.get_latest_materialization_event(
        deployment_key(DEV, ArtifactKind.AIRFLOW_DAGS)
    )
    assert deployed is not None and deployed.asset_materialization is not None
    assert deployed.asset_materialization.metadata[JUDGED_METADATA].value == "passed"
    tick = after_deployments.evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=idle.cursor)
    )
    assert not tick.run_requests and tick.skip_message == "no new deployment"


def test_a_deployment_recorded_without_a_judgement_requests_the_checks_once(
    resource: ReleaseSystemResource, tmp_path: Path
) -> None:
    system, release, instance, idle = built_and_idle(resource, tmp_path)
    record = system.promote(DEV, release.release_id)  # the CLI's door: recorded, not judged
    for materialization in deployment_materializations(
        DEV, release, "ci", record.kind, record.change_set.summary()
    ):
        instance.report_runless_asset_event(materialization)
    health = system.deployer.ledger.health(DEV, release.release_id)
    assert health is not None and health.pending
    started = after_deployments.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert not started.run_requests  # a new sensor notes what is deployed; the schedule judges it
    tick = after_deployments.evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=idle.cursor)
    )
    jobs = {r.job_name: r for r in tick.run_requests}
    assert set(jobs) == {"post_deploy_checks_job"}  # no dbt project: no raw layer to observe
    checks = jobs["post_deploy_checks_job"]
    assert checks.run_config == {"ops": {"release_contracts": {"config": {"env": "dev"}}}}
    assert release.release_id in str(checks.run_key)
    again = after_deployments.evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=tick.cursor)
    )
    assert not again.run_requests  # each deployment is judged once
    job = defs.resolve_job_def(post_deploy_checks_job.name)
    job.execute_in_process(
        run_config=checks.run_config,
        resources={"release_system": resource},
        instance=instance,
        tags=checks.tags,
    )
    health = system.deployer.ledger.health(DEV, release.release_id)
    assert health is not None and health.healthy  # no dbt project: no warehouse check applies
    judged = system.audit.events(environment="dev", action="checks")[0]
    assert judged["outcome"] == "passed" and judged["actor"] == "sensor:after_deployments"


def test_the_schedule_judges_every_environment_that_runs_a_release(
    resource: ReleaseSystemResource, tmp_path: Path
) -> None:
    context = dg.build_schedule_context(
        resources={"release_system": resource},
        scheduled_execution_time=datetime(2026, 12, 2, tzinfo=UTC),
    )
    assert isinstance(post_deploy_checks_schedule(context), dg.SkipReason)
    system = resource.system()
    release, _ = system.build(make_platform(tmp_path / "p", without="dbt_project"))
    system.promote(DEV, release.release_id)
    (request,) = post_deploy_checks_schedule(context)  # type: ignore[misc]
    assert request.run_config == {"ops": {"release_contracts": {"config": {"env": "dev"}}}}
    assert load_settings().check_attempts == 3  # re-judged until 3 inconclusive results pause it


def test_a_release_with_a_warehouse_is_observed_after_its_deployment_too() -> None:
    judge, observe = post_deploy_requests(Environment.STAGING, "r-1:1.0", {}, has_warehouse=True)
    assert judge.job_name == "post_deploy_checks_job"
    assert (
        observe.job_name == "observe_raw_tables_job"
        and observe.run_key == "observe:staging:r-1:1.0"
    )
    assert observe.run_config == {"ops": {"observe_raw_tables": {"config": {"envs": ["staging"]}}}}
