"""A promotion run builds the release's models through dagster-dbt (``DbtCliResource.cli`` with the
run's context) and materializes exactly the model versions that went live, in the environment's
partition; a build that fails in the run moves nothing and records nothing as live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import promote_job
from finsight_release.envs.environment import Environment
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from tests.targets.warehouse_project import DBT_ONLY

DEV = Environment.DEV
AGG = dg.AssetKey(["agg_payment_status"])
# Builds (its SQL compiles) but fails when DuckDB runs it: the release passes every static check.
BROKEN_AGG = {
    "dbt_project/models/agg_payment_status.sql": (
        "{{ config(materialized='table') }}\n"
        "select status, cast('many' as integer) as payments from {{ ref('stg_payments') }}\n"
    )
}


def dbt_only(root: Path, changes: dict[str, str] | None = None) -> Path:
    """A platform tree of the mini dbt project alone: its release is one artifact."""
    for rel, text in {**DBT_ONLY, **(changes or {})}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@dataclass
class World:
    system: ReleaseSystem
    instance: dg.DagsterInstance
    resource: ReleaseSystemResource
    v1: str
    first: dg.ExecuteInProcessResult

    def promote(self, release_id: str) -> dg.ExecuteInProcessResult:
        return promote_job.execute_in_process(
            run_config={
                "ops": {"promote_op": {"config": {"env": "dev", "release_id": release_id}}}
            },
            resources={"release_system": self.resource},
            instance=self.instance,
            raise_on_error=False,
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("dbt_in_run")
    platform = dbt_only(root / "v1")
    settings = load_settings(home=root / "home", platform=platform, require_validation=())
    system = ReleaseSystem(settings)
    v1, _ = system.build(platform)
    resource = ReleaseSystemResource(home=str(settings.home), platform=str(platform), actor="ci")
    world = World(system, dg.DagsterInstance.ephemeral(), resource, v1.release_id, None)  # type: ignore[arg-type]
    world.first = world.promote(v1.release_id)
    return world


def _models(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetMaterialization]:
    """The model materializations a run recorded, by model name."""
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if "fingerprint" in materialization.metadata:
            found[materialization.asset_key.path[-1]] = materialization
    return found


def test_the_promote_run_builds_through_dagster_dbt_and_records_what_went_live(
    world: World,
) -> None:
    assert world.first.success
    messages = [e.user_message for e in world.instance.all_logs(world.first.run_id)]
    # dagster-dbt ran the build in this run, with the release's physical mapping.
    assert any(m.startswith("Running dbt command:") and "_finsight_physical" in m for m in messages)
    deployed = world.system.environment_models(DEV)
    assert deployed is not None and deployed.release_id == world.v1
    models = _models(world.first)
    assert set(models) == {m.name for m in deployed.models()}
    for model in deployed.models():
        materialization = models[model.name]
        assert materialization.partition == "dev"
        metadata = {k: v.value for k, v in materialization.metadata.items()}
        assert metadata["release_id"] == world.v1 and metadata["fingerprint"] == model.fingerprint
        # dagster-dbt's own metadata of the node it built: this run made this model version.
        assert metadata["built_in_this_run"] is True
        assert metadata["unique_id"] == model.unique_id and metadata["invocation_id"]


def test_a_model_failing_in_the_run_names_it_and_leaves_the_live_release(
    world: World, tmp_path: Path
) -> None:
    broken = dbt_only(tmp_path / "v2", BROKEN_AGG)
    v2, _ = world.system.build(broken)
    before = world.instance.get_latest_materialization_event(AGG)
    result = world.promote(v2.release_id)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    message = str(error.cause.message if error and error.cause else error)
    assert "agg_payment_status" in message and "published layer unchanged" in message
    # Nothing moved: dev runs v1, and no model was recorded as running v2.
    assert world.system.board.read(DEV)[0].release_id == world.v1
    assert _models(result) == {}
    after = world.instance.get_latest_materialization_event(AGG)
    assert (
        after is not None
        and before is not None
        and after.run_id == before.run_id == world.first.run_id
    )
