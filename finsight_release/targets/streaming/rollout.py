"""The rolling deployment of a consumer service, as ECS runs one, measured as it goes.

New tasks start (never more than ``maximum_percent`` of the desired count in all) and must be
healthy (their partitions assigned at the group's committed offsets, fetching, reporting) before old
tasks stop (never fewer than ``minimum_healthy_percent`` healthy). With 100/200 that is: all new
tasks first, then all old ones stop. A deployment circuit breaker counts new tasks that die or stay
unhealthy past the grace period; at ``failure_threshold`` (ECS: half the desired count, at least 3)
it stops the rollout and the old version keeps running (or is started again).

Tasks own fixed partition shares (slots), not group membership, so nothing waits for a group
rebalance: a new task of slot k consumes slot k's partitions alongside the old one from the group's
committed offsets, the old one commits and exits, and the sink's upsert absorbs what both wrote.
All along, the group's progress on the topic is watched: the longest time with events waiting and
none committed is the consumption gap, and a gap over ``gap_budget_s`` stops the rollout and rolls
it back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from finsight_release.errors import RolloutStoppedError
from finsight_release.targets.streaming.broker import BrokerProbe
from finsight_release.targets.streaming.local_service import (
    LocalConsumerService,
    ServiceState,
    TaskHandle,
    is_alive,
)

POLL_S = 0.2


@dataclass(frozen=True)
class RolloutPolicy:
    """ECS's deployment configuration, plus the interruption budget."""

    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    failure_threshold: int = 3
    health_grace_s: float = 30.0
    gap_budget_s: float = 120.0


@dataclass
class RolloutReport:
    """What a rollout did and what it cost the stream."""

    service: str
    from_version: str
    to_version: str
    rollout_s: float = 0.0
    max_gap_s: float = 0.0
    lag_after: int = 0
    failed_tasks: int = 0
    rolled_back: bool = False
    rollback_s: float = 0.0
    reason: str = ""


class GapWatch:
    """The longest stretch with events waiting and no offset committed, read from the broker on its
    own thread (a rollout step that blocks, such as stopping tasks, never hides a gap)."""

    def __init__(self, probe: BrokerProbe, group: str, topic: str) -> None:
        self.probe = probe
        self.group = group
        self.topic = topic
        self.last_progress = time.monotonic()
        self.committed = -1
        self.max_gap_s = 0.0
        self.lag = 0
        self.error: Exception | None = None
        self._lock = threading.Lock()  # the rollout samples too (see _settle)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"gap-watch-{group}", daemon=True)

    def __enter__(self) -> GapWatch:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.sample()
            except Exception as exc:  # noqa: BLE001 - reported by the rollout that reads it
                self.error = exc

    def sample(self) -> None:
        """Read the group's position once."""
        with self._lock:
            position = self.probe.position(self.group, self.topic)
            now = time.monotonic()
            self.lag = position.lag
            if position.committed > self.committed or position.lag == 0:
                self.last_progress = now
            self.committed = max(self.committed, position.committed)
            self.max_gap_s = max(self.max_gap_s, now - self.last_progress)

    @property
    def gap_s(self) -> float:
        """The gap now: seconds since the group last made progress with events waiting."""
        return time.monotonic() - self.last_progress if self.lag > 0 else 0.0


class RollbackNeeded(Exception):
    """Internal: the rollout must stop (the reason is the message)."""


class RollingDeployment:
    """Rolls one local consumer service from its live version to a new one."""

    def __init__(
        self,
        service: LocalConsumerService,
        probe: BrokerProbe,
        policy: RolloutPolicy | None = None,
        on_sample: Callable[[GapWatch], None] | None = None,
    ) -> None:
        self.service = service
        self.probe = probe
        self.policy = policy or RolloutPolicy()
        self.on_sample = on_sample
        self.started: list[TaskHandle] = []  # new tasks of this rollout, for a rollback to stop
        self.stopped: list[TaskHandle] = []  # old tasks it stopped, for a rollback to replace

    def _start(self, version: str, code_dir: Path, slot: int) -> TaskHandle:
        task = self.service.start_task(version, code_dir, slot)
        self.started.append(task)
        return task

    def run(self, version: str, code_dir: Path) -> RolloutReport:
        """Roll the service to ``version`` (the code in ``code_dir``); StreamingDeployError when it
        stops, after the previous version is back to consuming."""
        self.probe.check_reachable()
        state = self.service.read_state()
        old = [t for t in state.tasks if t.version != version]
        report = RolloutReport(self.service.name, state.version, version)
        started = time.monotonic()
        watch = GapWatch(self.probe, self.service.spec.group_id, self.service.spec.topic)
        new = [t for t in state.tasks if t.version == version and self.service.is_healthy(t)]
        self.started, self.stopped = [], []
        try:
            with watch:
                new = self._roll(version, code_dir, old, new, watch, report)
                self._settle(watch)
        except RollbackNeeded as exc:
            report.reason = str(exc)
            report.max_gap_s = round(watch.max_gap_s, 3)
            self._roll_back(state, report)
            raise RolloutStoppedError(
                f"streaming/consumer: {self.service.name} rollout to {version[:12]} stopped: "
                f"{exc}; {report.from_version[:12] or 'nothing'} keeps consuming",
                report,
            ) from exc
        self.service.write_state(ServiceState(version, str(code_dir), new))
        report.rollout_s = round(time.monotonic() - started, 3)
        report.max_gap_s = round(watch.max_gap_s, 3)
        report.lag_after = watch.lag
        return report

    def _watch(self, watch: GapWatch) -> None:
        if watch.error is not None:
            raise RollbackNeeded(f"lost sight of the group's progress: {watch.error}")
        gap = max(watch.gap_s, watch.max_gap_s)
        if self.on_sample is not None:
            self.on_sample(watch)
        if gap > self.policy.gap_budget_s:
            raise RollbackNeeded(
                f"consumption gap {gap:.1f}s exceeds the {self.policy.gap_budget_s:g}s budget"
            )

    def _roll(
        self,
        version: str,
        code_dir: Path,
        old: list[TaskHandle],
        new: list[TaskHandle],
        watch: GapWatch,
        report: RolloutReport,
    ) -> list[TaskHandle]:
        desired = self.service.spec.desired_count
        most = max(desired * self.policy.maximum_percent // 100, desired + 1)
        least = -(-desired * self.policy.minimum_healthy_percent // 100)
        while old or len(new) < desired:
            room = most - len(old) - len(new)
            taken = {t.slot for t in new}
            for slot in [s for s in range(desired) if s not in taken][: max(room, 0)]:
                new.append(self._start(version, code_dir, slot))
            new = self._await_healthy(new, version, code_dir, watch, report)
            stoppable = len(old) + len(new) - least
            if stoppable <= 0 and len(new) < desired:
                continue
            # Old tasks whose slot a healthy new task already consumes go first: their partitions
            # are read on without a pause. No rebalance follows a stop, so they stop together.
            covered = {t.slot for t in new}
            old = sorted(old, key=lambda t: t.slot not in covered)
            retire, old = old[: max(stoppable, 0)], old[max(stoppable, 0) :]
            self.service.stop_tasks(retire)
            self.stopped += retire
            new = self._await_healthy(new, version, code_dir, watch, report)
        return new

    def _await_healthy(
        self,
        tasks: list[TaskHandle],
        version: str,
        code_dir: Path,
        watch: GapWatch,
        report: RolloutReport,
    ) -> list[TaskHandle]:
        """Wait until every task is healthy, replacing dead ones until the circuit breaker trips."""
        started = {t.task_id: time.monotonic() for t in tasks}
        while True:
            self._watch(watch)
            healthy = [t for t in tasks if self.service.is_healthy(t)]
            if len(healthy) == len(tasks):
                return tasks
            for task in [t for t in tasks if t not in healthy]:
                dead = not is_alive(task.pid)
                late = time.monotonic() - started[task.task_id] > self.policy.health_grace_s
                if not (dead or late):
                    continue
                report.failed_tasks += 1
                cause = (
                    f"task exited: {self.service.last_words(task)}"
                    if dead
                    else f"task not healthy after {self.policy.health_grace_s:g}s"
                )
                self.service.stop_tasks([task])
                tasks = [t for t in tasks if t.task_id != task.task_id]
                if report.failed_tasks >= self.policy.failure_threshold:
                    self.service.stop_tasks(tasks)
                    tasks.clear()
                    raise RollbackNeeded(
                        f"circuit breaker: {report.failed_tasks} new tasks failed ({cause})"
                    )
                replacement = self._start(version, code_dir, task.slot)
                started[replacement.task_id] = time.monotonic()
                tasks.append(replacement)
            time.sleep(POLL_S)

    def _settle(self, watch: GapWatch) -> None:
        """After the old tasks stop: wait until the new ones have committed progress (or nothing is
        waiting), within the gap budget."""
        # A fresh read: the old tasks' last commits (made as they stopped) are not the new ones'
        # progress, and the watch's thread may not have seen them yet.
        watch.sample()
        before = watch.committed
        while True:
            self._watch(watch)
            if watch.lag == 0 or watch.committed > before:
                return
            time.sleep(POLL_S)

    def _roll_back(
        self,
        previous: ServiceState,
        report: RolloutReport,
    ) -> None:
        """Stop the new tasks; start the previous version again for every old task stopped."""
        began = time.monotonic()
        self.service.stop_tasks(self.started)
        gone = {t.task_id for t in self.started + self.stopped}
        survivors = [t for t in previous.tasks if t.task_id not in gone]
        restarted = [
            self.service.start_task(previous.version, Path(previous.code_dir), t.slot)
            for t in self.stopped
        ]
        deadline = time.monotonic() + self.policy.health_grace_s
        while restarted and time.monotonic() < deadline:
            if all(self.service.is_healthy(t) for t in restarted):
                break
            time.sleep(POLL_S)
        self.service.write_state(
            ServiceState(previous.version, previous.code_dir, survivors + restarted)
        )
        report.rolled_back = True
        report.rollback_s = round(time.monotonic() - began, 3)
