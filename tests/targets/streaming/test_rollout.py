"""Consumer rollouts against a real broker (Tansu) on loopback: the interruption measured, nothing
lost, and the rollout stopped, the running version consuming on, when new tasks crash, the gap
budget is exceeded, or the broker is down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from finsight_release.errors import RolloutStoppedError, StreamingDeployError
from finsight_release.targets.streaming.broker import BrokerProbe
from finsight_release.targets.streaming.local_service import LocalConsumerService, is_alive
from finsight_release.targets.streaming.rollout import (
    GapWatch,
    RollingDeployment,
    RolloutPolicy,
    RolloutReport,
)
from tests.targets.streaming.stream_world import (
    Broker,
    SteadyProducer,
    consumer_version,
    free_port,
    longest_gap,
    produce,
    reference_spec,
    sink_rows,
    wait_caught_up,
)

V1, V2 = "1" * 16, "2" * 16


@pytest.fixture
def service(tmp_path: Path, broker: Broker) -> Iterator[LocalConsumerService]:
    svc = LocalConsumerService(
        tmp_path / "service", reference_spec(desired=2), broker.bootstrap, tmp_path / "sink.duckdb"
    )
    try:
        yield svc
    finally:
        svc.stop()


def all_healthy(service: LocalConsumerService, within_s: float = 15.0) -> bool:
    """Every task of the service healthy within ``within_s`` (a restarted task may be starting)."""
    deadline = time.monotonic() + within_s
    while True:
        tasks = service.read_state().tasks
        if tasks and all(service.is_healthy(t) for t in tasks):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def roll(
    service: LocalConsumerService,
    version: str,
    code: Path,
    policy: RolloutPolicy | None = None,
    seen: list[tuple[int, int]] | None = None,
) -> RolloutReport:
    """Run one rollout; ``seen`` collects (tasks alive, tasks healthy) at every sample."""

    def count(watch: GapWatch) -> None:
        if seen is not None:
            tasks = deployment.started + service.read_state().tasks
            unique = {t.task_id: t for t in tasks}.values()
            seen.append(
                (
                    sum(is_alive(t.pid) for t in unique),
                    sum(service.is_healthy(t) for t in unique),
                )
            )

    probe = BrokerProbe(service.bootstrap)
    deployment = RollingDeployment(service, probe, policy, on_sample=count)
    try:
        return deployment.run(version, code)
    finally:
        probe.close()


def test_rollout_under_a_steady_stream_loses_nothing_and_measures_its_gap(
    tmp_path: Path, service: LocalConsumerService
) -> None:
    roll(service, V1, consumer_version(tmp_path / "code", "v1"))
    producer = SteadyProducer(service.bootstrap, rate=200).start()
    time.sleep(1.0)
    began = time.time()
    seen: list[tuple[int, int]] = []
    report = roll(service, V2, consumer_version(tmp_path / "code", "v2"), seen=seen)
    ended = time.time()
    time.sleep(0.5)
    producer.stop()
    caught_up_s = wait_caught_up(service.bootstrap, service.spec.group_id, timeout=60)
    state = service.read_state()
    assert state.version == V2 and len(state.tasks) == 2 and all_healthy(service)
    service.stop()
    rows = sink_rows(service.sink_path)
    ids = [r[0] for r in rows]
    sink_gap = longest_gap(rows, began, ended)
    assert len(producer.sent) > 400 and set(ids) == set(producer.sent)  # nothing lost
    assert len(ids) == len(set(ids))  # redeliveries absorbed by the upsert
    assert {r[2].split("-")[1] for r in rows if r[1] > ended} == {V2[:8]}  # v2 consumes now
    # ECS's bounds held at every sample: never over 200% running, never under 100% running, and the
    # new tasks healthy at the end.
    assert seen and max(alive for alive, _ in seen) <= 4
    assert min(alive for alive, _ in seen) >= 2 and seen[-1][1] >= 2
    # No rebalance: the old tasks consume until the new ones are healthy, so the stream barely
    # pauses (a second or two at most on a loaded 2-core machine; 10 s leaves room).
    gaps = (report.max_gap_s, sink_gap, caught_up_s)
    assert report.max_gap_s < 10 and sink_gap < 10 and caught_up_s < 30, gaps
    assert report.failed_tasks == 0 and not report.rolled_back


def test_a_crashing_version_or_a_gap_over_budget_is_rolled_back_and_the_old_one_consumes_on(
    tmp_path: Path, service: LocalConsumerService
) -> None:
    roll(service, V1, consumer_version(tmp_path / "code", "v1"))
    old_tasks = service.read_state().tasks

    breaker = r"streaming/consumer: .*circuit breaker: 3 new tasks failed .*boom: bad config"
    with pytest.raises(RolloutStoppedError, match=breaker + r".* keeps consuming") as crash:
        roll(service, V2, consumer_version(tmp_path / "code", "v2", crash=True))
    assert isinstance(crash.value.report, RolloutReport) and crash.value.report.rolled_back
    assert service.read_state().tasks == old_tasks and service.read_state().version == V1

    producer = SteadyProducer(service.bootstrap, rate=200).start()
    time.sleep(0.5)
    # v2b consumes but never commits: once v1's tasks are gone the group makes no progress.
    tight = RolloutPolicy(gap_budget_s=0.5)
    with pytest.raises(RolloutStoppedError, match=r"consumption gap .* exceeds the 0.5s budget"):
        roll(service, V2, consumer_version(tmp_path / "code", "v2b", no_commit=True), policy=tight)
    producer.stop()
    wait_caught_up(service.bootstrap, service.spec.group_id)
    state = service.read_state()
    assert state.version == V1 and all_healthy(service)
    late = produce(service.bootstrap, 20)
    wait_caught_up(service.bootstrap, service.spec.group_id)
    service.stop()
    rows = sink_rows(service.sink_path)
    assert {r[0] for r in rows} >= set(producer.sent) | set(late)
    assert {r[2].split("-")[1] for r in rows if r[0] in late} == {V1[:8]}


def test_a_broker_that_is_down_stops_the_rollout_before_any_task_starts(tmp_path: Path) -> None:
    down = f"127.0.0.1:{free_port()}"
    svc = LocalConsumerService(tmp_path / "svc", reference_spec(), down, tmp_path / "sink.duckdb")
    with pytest.raises(StreamingDeployError, match=rf"streaming/consumer: broker {down} is down"):
        roll(svc, V1, consumer_version(tmp_path / "code", "v1"))
    assert not (tmp_path / "svc" / "tasks").exists() and svc.read_state().tasks == []
