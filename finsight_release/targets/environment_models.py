"""What an environment's warehouse runs, model by model, and how dbt runs against exactly that.

The release an environment publishes is a dbt project version (its copy under the target's
``projects_dir``, overlay installed) and a :class:`ModelPlan`: each model's fingerprint and the
physical relation it lives in. Running dbt against an environment means running *that* project copy
against the environment's DuckDB file with the physical mapping as ``--vars``: a ``dbt build`` then
rebuilds the relations the environment's published views read (fresh data, same model versions),
never another release's SQL. The Dagster dbt assets (environment partitions) and the post-deploy
checks both read this.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsight_release.envs.environment import Environment
from finsight_release.errors import NothingPublishedError
from finsight_release.targets import warehouse_state as state
from finsight_release.targets.dbt_overlay import write_duckdb_profile
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA, ModelPlan, physical_vars

if TYPE_CHECKING:
    from finsight_release.targets.warehouse import DuckDbWarehouseTarget


@dataclass(frozen=True)
class DeployedModel:
    """One model (seed, snapshot) an environment runs: its version and where it lives."""

    name: str
    unique_id: str
    fingerprint: str
    materialized: str
    physical: str  # "<schema>.<relation>" holding its data
    published: str  # "<schema>.<view>" consumers query


@dataclass(frozen=True)
class EnvironmentModels:
    """The published release of one environment's warehouse, model by model."""

    environment: str
    release_id: str
    plan: ModelPlan
    project: Path  # the release's dbt project copy
    database: Path  # the environment's DuckDB file

    def models(self) -> list[DeployedModel]:
        """Every model of the release that is a relation, in dependency order."""
        return [
            DeployedModel(
                name=m.name,
                unique_id=m.unique_id,
                fingerprint=m.fingerprint,
                materialized=m.materialized,
                physical=f"{PHYSICAL_SCHEMA}.{m.physical_name}",
                published=f"{m.published_schema}.{m.published_name}",
            )
            for m in self.plan.relations
        ]

    def dbt_vars(self) -> dict[str, Any]:
        """``--vars`` resolving every model to the physical relation this environment reads."""
        return physical_vars(self.plan)

    def write_profiles(self, folder: Path, schema: str) -> Path:
        """Write a ``profiles.yml`` into ``folder`` pointing the project's profile at this
        environment's DuckDB file (``schema``: the default schema of nodes outside the mapping)."""
        return write_duckdb_profile(folder, self.project, self.database, schema)


def environment_models(target: DuckDbWarehouseTarget, env: Environment) -> EnvironmentModels:
    """What ``env``'s warehouse publishes; NothingPublishedError when it publishes no release."""
    db = target.database(env)
    published: dict[str, str] = {}
    plan = None
    if db.exists():
        with target.connect(db, read_only=True) as con:
            published = state.published(con)
            plan = state.load_plan(con, published.get("digest", "")) if published else None
    if plan is None or not published.get("release"):
        raise NothingPublishedError(
            f"{env} publishes no release in {db}: promote a release with a dbt project to {env} first"
        )
    return EnvironmentModels(
        environment=str(env),
        release_id=published["release"],
        plan=plan,
        project=target.projects_dir / plan.digest,
        database=db,
    )
