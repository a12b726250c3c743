"""The release system as a Dagster resource; settings come from FINSIGHT_* environment variables."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem

if TYPE_CHECKING:
    from finsight_release.targets.dbt_overlay import DbtInvoker


class ReleaseSystemResource(dg.ConfigurableResource):
    """Builds a :class:`ReleaseSystem`; empty fields fall back to FINSIGHT_* settings."""

    home: str = ""
    platform: str = ""
    actor: str = ""
    checks_clock: str = ""  # ISO 8601: the time post-deploy checks judge freshness against

    def system(
        self, actor: str | None = None, dbt_invoker: DbtInvoker | None = None
    ) -> ReleaseSystem:
        """The release system; ``actor`` (e.g. from a run's tags) overrides the configured one,
        ``dbt_invoker`` (the run's dagster-dbt) runs the warehouse's dbt builds."""
        overrides: dict[str, object] = {}
        if self.home:
            overrides["home"] = Path(self.home).resolve()
        if self.platform:
            overrides["platform"] = Path(self.platform).resolve()
        if actor or self.actor:
            overrides["actor"] = actor or self.actor
        if self.checks_clock:
            overrides["checks_clock"] = datetime.fromisoformat(self.checks_clock)
        return ReleaseSystem(load_settings(**overrides), dbt_invoker=dbt_invoker)
