"""A release that no longer has a consumer (its directory removed, or its whole topic) stops that
service's tasks, and a rollback starts it again: through the release system, the consumer run as
local tasks against a real broker (Tansu) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from finsight_release.envs.environment import Environment
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from finsight_release.targets.streaming.local_service import LocalConsumerService, is_alive
from finsight_release.targets.streaming.runtime import LocalConsumerRuntime
from finsight_release.targets.streaming.service_spec import ServiceSpec
from tests.targets.streaming.stream_world import Broker, produce, wait_caught_up
from tests.targets.streaming.topic_releases import topic_release

DEV = Environment.DEV
SERVICE = ServiceSpec(
    "payments_sink",
    "payments_sink",
    "finsight.payments.events",
    "finsight.payments_sink",
    1,
    "consumer.py",
    "stream_payments_sink",
)


@pytest.fixture
def system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broker: Broker
) -> Iterator[ReleaseSystem]:
    monkeypatch.delenv("FINSIGHT_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("FINSIGHT_KAFKA_BOOTSTRAP_DEV", broker.bootstrap)
    built = ReleaseSystem(load_settings(home=tmp_path / "home", require_validation=()))
    try:
        yield built
    finally:
        service(built).stop()


def service(system: ReleaseSystem) -> LocalConsumerService:
    runtime = system.streaming_target.runtime_for(DEV, SERVICE)
    assert isinstance(runtime, LocalConsumerRuntime)
    return runtime.service


def running(system: ReleaseSystem) -> list[int]:
    """Pids of the service's live tasks, all healthy (asserted)."""
    svc = service(system)
    tasks = svc.read_state().tasks
    assert all(svc.is_healthy(t) for t in tasks), [svc.last_words(t) for t in tasks]
    return [t.pid for t in tasks]


@pytest.mark.parametrize("removal", ["consumer", "topic"])
def test_a_release_without_the_consumer_stops_it_and_a_rollback_starts_it_again(
    removal: str, system: ReleaseSystem, broker: Broker, tmp_path: Path
) -> None:
    with_consumer = topic_release(system.repo, tmp_path, "BACKWARD", "v1", "c1", runnable=True)
    if removal == "consumer":
        without = topic_release(system.repo, tmp_path, "BACKWARD", "v1", consumer=None)
    else:
        without = topic_release(system.repo, tmp_path, "BACKWARD", "v1", without_topic=True)
    system.promote(DEV, with_consumer.release_id)
    (first,) = running(system)

    system.promote(DEV, without.release_id)
    assert not is_alive(first) and service(system).read_state().tasks == []
    assert "consumer payments_sink stopped" in system.streaming_target.steps

    system.rollback(DEV)
    (again,) = running(system)
    assert again != first
    produce(broker.bootstrap, 20)  # the restarted task consumes
    wait_caught_up(broker.bootstrap, SERVICE.group_id)
