"""The promotion sensors drive dev and staging by the pipeline's rules; runs audit who launched them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.pipeline import behind_check
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import promote_job
from finsight_release.automation.promotion_sensors import promotion_sensor
from finsight_release.envs.environment import Environment
from finsight_release.system import ReleaseSystem
from finsight_release.validate.record import record_verdict
from finsight_release.validate.runner import ValidationReport
from tests.mini_platform import make_platform

DEV, STAGING = Environment.DEV, Environment.STAGING


@pytest.fixture
def resource(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReleaseSystemResource:
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    monkeypatch.setenv("FINSIGHT_BAKE_S", "3600")
    return ReleaseSystemResource(home=str(tmp_path / "home"))


def validated_release(system: ReleaseSystem, tree: Path) -> str:
    manifest, _ = system.build(tree)
    record_verdict(system.repo.store, manifest.release_id, DEV, ValidationReport(results=[]))
    return manifest.release_id


def tick(env: Environment, resource: ReleaseSystemResource, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, resources={"release_system": resource})
    result = promotion_sensor(env).evaluate_tick(context)
    return result


def test_dev_sensor_requests_the_validated_release_once_and_audits_changes_of_mind(
    resource: ReleaseSystemResource, tmp_path: Path
) -> None:
    system = resource.system()
    waiting = tick(DEV, resource, None)
    assert not waiting.run_requests and "no release has passed validation" in str(
        waiting.skip_message
    )
    v1 = validated_release(system, make_platform(tmp_path / "p", without="dbt_project"))
    ready = tick(DEV, resource, waiting.cursor)
    (request,) = ready.run_requests
    assert request.run_key == f"dev:{v1}" and request.tags["finsight/actor"].startswith("sensor:")
    assert request.run_config["ops"]["promote_op"]["config"] == {"env": "dev", "release_id": v1}
    # Every promotion request is audited; a wait only when its reason changes (the cursor keeps it).
    system.deployer.promote(DEV, v1)
    settled = tick(DEV, resource, ready.cursor)
    assert not settled.run_requests and tick(DEV, resource, settled.cursor).cursor == settled.cursor
    decisions = [e["outcome"] for e in reversed(system.audit.events(action="decide"))]
    assert decisions == ["wait", "promote", "wait"]


def test_staging_waits_for_the_bake_time_then_the_run_records_the_sensor_as_actor(
    resource: ReleaseSystemResource, tmp_path: Path
) -> None:
    system = resource.system()
    v1 = validated_release(system, make_platform(tmp_path / "p", without="dbt_project"))
    system.deployer.promote(DEV, v1)
    unjudged = tick(STAGING, resource, None)
    assert not unjudged.run_requests and "awaiting its post-deploy checks" in str(
        unjudged.skip_message
    )
    system.judge(DEV)  # the post-deploy checks pass (no dbt project: none applies)
    waiting = tick(STAGING, resource, unjudged.cursor)
    assert not waiting.run_requests and "bakes in dev until" in str(waiting.skip_message)
    baked = ReleaseSystemResource(home=resource.home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FINSIGHT_BAKE_S", "0")
        (request,) = tick(STAGING, baked, waiting.cursor).run_requests
        promote_job.execute_in_process(
            run_config=request.run_config,
            resources={"release_system": baked},
            tags=request.tags,
            instance=dg.DagsterInstance.ephemeral(),
        )
    assert system.board.read(STAGING)[0].release_id == v1
    promoted = [e for e in system.audit.events(action="promote") if e["environment"] == "staging"]
    assert promoted and {e["actor"] for e in promoted} == {"sensor:promote_staging_when_ready"}


def test_behind_check_warns_while_an_environment_lags(
    resource: ReleaseSystemResource, tmp_path: Path
) -> None:
    system = resource.system()
    v1 = validated_release(system, make_platform(tmp_path / "p", without="dbt_project"))
    check = behind_check(DEV)
    results = list(check(dg.build_op_context(resources={"release_system": resource})))
    assert results and all(not r.passed for r in results)
    assert v1 in (results[0].description or "")
    system.deployer.promote(DEV, v1)
    results = list(check(dg.build_op_context(resources={"release_system": resource})))
    assert all(r.passed for r in results)
