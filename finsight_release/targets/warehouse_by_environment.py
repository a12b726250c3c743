"""The warehouse target of AWS mode: each environment's dbt project lands where its config says.

An env config with ``warehouse.type: snowflake`` deploys to Snowflake
(:class:`~finsight_release.targets.snowflake_warehouse.SnowflakeWarehouseTarget`); any other
environment keeps the local DuckDB warehouse. The class is the DuckDB target with its deploy steps
(``prepare``, ``switch``, ``verify``, ``after_live``) and readings (``published``, ``diffs``,
``refresh_status``) handed to the Snowflake target for the environments it serves, so every caller
of the warehouse target (the Deployer, status, the janitor) gets the right warehouse per environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finsight_release.envs.environment import Environment
from finsight_release.errors import WarehouseDeployError
from finsight_release.release.artifact import Artifact
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.data_diff import ModelDiff
from finsight_release.targets.snowflake_warehouse import SnowflakeWarehouseTarget
from finsight_release.targets.warehouse import DuckDbWarehouseTarget


class WarehouseByEnvironment(DuckDbWarehouseTarget):
    """DuckDB for most environments, Snowflake for those ``snowflake`` serves."""

    def __init__(
        self, warehouse_dir: Path, projects_dir: Path, snowflake: SnowflakeWarehouseTarget
    ) -> None:
        super().__init__(warehouse_dir, projects_dir)
        self.snowflake = snowflake

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        if self.snowflake.serves(env):
            self.snowflake.prepare(env, manifest, artifacts, repo)
            self.built_models = self.snowflake.built_models
        else:
            super().prepare(env, manifest, artifacts, repo)

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None:
        if self.snowflake.serves(env):
            self.snowflake.switch(env, manifest, artifacts, retired)
        else:
            super().switch(env, manifest, artifacts, retired)

    def verify(
        self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]
    ) -> list[str]:
        if self.snowflake.serves(env):
            return self.snowflake.verify(env, manifest, artifacts)
        return super().verify(env, manifest, artifacts)

    def after_live(self, env: Environment, manifest: ReleaseManifest) -> None:
        if self.snowflake.serves(env):
            self.snowflake.after_live(env, manifest)
        else:
            super().after_live(env, manifest)

    def published(self, env: Environment) -> dict[str, str]:
        if self.snowflake.serves(env):
            return self.snowflake.published(env)
        return super().published(env)

    def diffs(self, env: Environment, release_id: str) -> list[ModelDiff]:
        """The data diffs of ``release_id`` in ``env``; for Snowflake none when the database cannot
        be read (a report must not fail because a warehouse is unreachable: the reason is logged)."""
        if self.snowflake.serves(env):
            try:
                return self.snowflake.diffs(env, release_id)
            except WarehouseDeployError as exc:
                self.log.warning("data diffs unreadable", environment=str(env), error=str(exc))
                return []
        return super().diffs(env, release_id)

    def refresh_status(self, env: Environment) -> dict[str, Any] | None:
        """The last refresh of ``env``; for Snowflake None when it cannot be read (``status`` must
        not fail because a warehouse is unreachable: the reason is logged)."""
        if self.snowflake.serves(env):
            try:
                return self.snowflake.refresh_status(env)
            except WarehouseDeployError as exc:
                self.log.warning("refresh status unreadable", environment=str(env), error=str(exc))
                return None
        return super().refresh_status(env)
