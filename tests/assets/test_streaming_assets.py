"""``streaming/<topic>`` assets: materialized with the environment and release when a promotion
switches a topic (promote_job and the CLI's InstanceRecorder), consumer lag and last-event time
observed, and schema compatibility and rollout health as checks; a failing rollout-health check
marks the release unhealthy in that environment. The consumer runs against a real broker."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.instance_recorder import InstanceRecorder
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.assets.streaming import (
    COMPATIBILITY_CHECK,
    ROLLOUT_CHECK,
    streaming_health_check,
    topic_key,
    topic_names,
    topic_specs,
)
from finsight_release.automation.jobs import promote_job
from finsight_release.envs.environment import Environment
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.system import ReleaseSystem
from finsight_release.targets.streaming.runtime import LocalConsumerRuntime
from finsight_release.targets.streaming.service_spec import ServiceSpec, read_service
from tests.targets.streaming.stream_world import Broker, produce, wait_caught_up

DEV = Environment.DEV
TOPIC = "payments.events"
KEY = topic_key(TOPIC)


def copy_topic(platform: Path) -> Path:
    source = REPO_ROOT / "release_assets/streaming" / TOPIC
    shutil.copytree(source, platform / "release_assets/streaming" / TOPIC)
    return platform


def run_checks(
    resource: ReleaseSystemResource, instance: dg.DagsterInstance
) -> dict[str, dg.AssetCheckEvaluation]:
    check = streaming_health_check(DEV, [TOPIC])
    job = dg.define_asset_job("streaming", selection=dg.AssetSelection.checks(check))
    defs = dg.Definitions(
        assets=topic_specs([TOPIC]),
        asset_checks=[check],
        jobs=[job],
        resources={"release_system": resource},
    )
    result = defs.resolve_job_def("streaming").execute_in_process(instance=instance)
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_the_reference_platform_has_one_asset_per_topic() -> None:
    assert len(topic_names(REPO_ROOT)) == 8 and topic_specs([TOPIC])[0].key == KEY


def test_promote_job_materializes_the_topic_and_a_dead_consumer_fails_rollout_health(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broker: Broker
) -> None:
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    monkeypatch.setenv("FINSIGHT_KAFKA_BOOTSTRAP_DEV", broker.bootstrap)
    platform = copy_topic(tmp_path / "platform")
    instance = dg.DagsterInstance.ephemeral()
    resource = ReleaseSystemResource(home=str(tmp_path / "home"), platform=str(platform))
    system = resource.system()
    manifest, _ = system.build(platform, DEV)
    runtimes: list[LocalConsumerRuntime] = []
    try:
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

        (topic,) = system.streaming_health(DEV)
        runtime = system.streaming_target.runtime_for(DEV, reference_service())
        assert isinstance(runtime, LocalConsumerRuntime)
        runtimes.append(runtime)
        produce(broker.bootstrap, 50)
        wait_caught_up(broker.bootstrap, runtime.service.spec.group_id)
        # A task reports its last event with its health (every 0.5 s): wait for that report.
        deadline = time.monotonic() + 15
        while runtime.service.last_event_at() is None and time.monotonic() < deadline:
            time.sleep(0.1)

        checks = run_checks(resource, instance)
        assert checks[f"dev_{COMPATIBILITY_CHECK}"].passed
        assert checks[f"dev_{ROLLOUT_CHECK}"].passed, checks[f"dev_{ROLLOUT_CHECK}"].description
        observed = instance.fetch_observations(KEY, limit=1).records[0]
        seen = observed.asset_observation
        assert seen is not None and seen.metadata["consumer_lag"].value == 0
        assert seen.metadata["release_id"].value == manifest.release_id
        assert "T" in str(seen.metadata["last_event_at"].value)  # an ISO time: events consumed

        # The consumer's tasks die: rollout health fails and dev marks the release unhealthy.
        for task in runtime.service.read_state().tasks:
            os.kill(task.pid, signal.SIGKILL)
        checks = run_checks(resource, instance)
        failed = checks[f"dev_{ROLLOUT_CHECK}"]
        assert not failed.passed and "0/2 tasks healthy" in (failed.description or "")
        health = system.deployer.ledger.health(DEV, manifest.release_id)
        assert health is not None and not health.healthy
        assert health.reason.startswith("streaming: ")
    finally:
        for runtime in runtimes:
            runtime.service.stop()


def reference_service() -> ServiceSpec:
    return read_service(
        REPO_ROOT / "release_assets/streaming" / TOPIC / "consumers/payments_sink",
        "finsight.payments.events",
    )


def test_a_cli_promotion_is_recorded_on_the_topic_asset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FINSIGHT_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("FINSIGHT_KAFKA_BOOTSTRAP_DEV", raising=False)
    platform = copy_topic(tmp_path / "platform")
    recorder = InstanceRecorder(tmp_path / "dagster")
    settings = load_settings(home=tmp_path / "home", platform=platform, actor="alice")
    system = ReleaseSystem(settings.model_copy(update={"require_validation": ()}), [recorder])
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
    # No broker configured for dev: the schema is registered, no consumer task is started.
    (topic,) = system.streaming_health(DEV)
    assert topic.live_version == topic.expected_version == 1
    assert not (tmp_path / "home" / "streaming" / "dev" / "services").exists()
