"""Where a consumer service runs: local task processes, or an ECS service (``ecs.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from finsight_release.targets.streaming.broker import BrokerProbe
from finsight_release.targets.streaming.local_service import LocalConsumerService
from finsight_release.targets.streaming.rollout import (
    RollingDeployment,
    RolloutPolicy,
    RolloutReport,
)


class ConsumerRuntime(Protocol):
    """Runs one consumer service and rolls it to new versions."""

    name: str

    def preflight(self) -> None:
        """StreamingDeployError when a rollout could not start (e.g. the broker is down)."""
        ...

    def deploy(self, version: str, code_dir: Path) -> RolloutReport:
        """Roll the service to ``version``; StreamingDeployError (previous version running) if not."""
        ...

    def live_version(self) -> str:
        """The version the service runs ('' when it never ran or is stopped)."""
        ...

    def stop(self) -> None:
        """Stop every task of the service: a release no longer has it (a deploy starts it again)."""
        ...

    def problems(self, version: str) -> list[str]:
        """Why the service does not run ``version`` healthily (empty: it does)."""
        ...

    def reading(self) -> tuple[int | None, float | None]:
        """Consumer lag (events) and the time of the last event consumed, when known."""
        ...


class LocalConsumerRuntime:
    """A :class:`LocalConsumerService` rolled by :class:`RollingDeployment` against a broker."""

    def __init__(self, service: LocalConsumerService, policy: RolloutPolicy) -> None:
        self.service = service
        self.policy = policy
        self.name = service.name

    def preflight(self) -> None:
        BrokerProbe(self.service.bootstrap).check_reachable()

    def deploy(self, version: str, code_dir: Path) -> RolloutReport:
        probe = BrokerProbe(self.service.bootstrap)
        try:
            return RollingDeployment(self.service, probe, self.policy).run(version, code_dir)
        finally:
            probe.close()

    def live_version(self) -> str:
        state = self.service.read_state()
        return state.version if state.tasks else ""

    def stop(self) -> None:
        self.service.stop()

    def problems(self, version: str) -> list[str]:
        state = self.service.read_state()
        if state.version != version:
            return [f"{self.name} runs {state.version[:12] or 'nothing'}, expected {version[:12]}"]
        healthy = sum(self.service.is_healthy(t) for t in state.tasks)
        desired = self.service.spec.desired_count
        if healthy < desired:
            return [f"{self.name}: {healthy}/{desired} tasks healthy"]
        return []

    def reading(self) -> tuple[int | None, float | None]:
        """The group's lag from the broker; the latest event any task reported consuming."""
        probe = BrokerProbe(self.service.bootstrap)
        try:
            lag: int | None = probe.position(
                self.service.spec.group_id, self.service.spec.topic
            ).lag
        except Exception:  # noqa: BLE001 - a reading, not a deploy: an unreachable broker is unknown lag
            lag = None
        finally:
            probe.close()
        return lag, self.service.last_event_at()
