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
        """The version the service runs ('' when it never ran)."""
        ...

    def problems(self, version: str) -> list[str]:
        """Why the service does not run ``version`` healthily (empty: it does)."""
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
        return self.service.read_state().version

    def problems(self, version: str) -> list[str]:
        state = self.service.read_state()
        if state.version != version:
            return [f"{self.name} runs {state.version[:12] or 'nothing'}, expected {version[:12]}"]
        healthy = sum(self.service.is_healthy(t) for t in state.tasks)
        desired = self.service.spec.desired_count
        if healthy < desired:
            return [f"{self.name}: {healthy}/{desired} tasks healthy"]
        return []
