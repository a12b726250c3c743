"""Who else hears about an operation: the interface the entry points use to record each build,
deployment and validation somewhere more (the Dagster instance, so the UI shows what the CLI did).

The core calls observers after the operation's own evidence is written; an observer that fails is
logged and never fails the operation (the audit log, not the observer, is the record of truth).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from finsight_release.envs.environment import Environment
    from finsight_release.envs.operation import OperationRecord
    from finsight_release.release.manifest import ReleaseManifest
    from finsight_release.targets.environment_models import EnvironmentModels
    from finsight_release.validate.record import ValidationVerdict
    from finsight_release.validate.runner import ValidationReport


class OperationObserver(Protocol):
    """Told of each finished operation, with what it produced."""

    def built(self, manifest: ReleaseManifest) -> None:
        """A release was built (or found already built)."""

    def deployed(
        self, env: Environment, manifest: ReleaseManifest, record: OperationRecord
    ) -> None:
        """``env`` now runs ``manifest`` after ``record`` (a promotion, rollback or takeover)."""

    def models_deployed(self, models: EnvironmentModels, record: OperationRecord) -> None:
        """After ``record``, the environment's warehouse publishes ``models`` (model by model)."""

    def validated(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        report: ValidationReport,
        verdict: ValidationVerdict,
    ) -> None:
        """A tree (the release ``manifest`` describes) was validated for ``env``."""
