"""Environment-aware platform assets: the dbt models are partitioned by environment (not copied); a
promotion records each model it deployed in the environment's partition with the release id and
fingerprint, and materializing a model for a partition builds that environment's release against
that environment's warehouse (its DuckDB file, its physical relations)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from finsight_release.assets.instance_recorder import InstanceRecorder
from finsight_release.assets.platform import ENVIRONMENTS, dbt_model_assets, platform_resources
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.envs.environment import Environment
from finsight_release.errors import NothingPublishedError
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from tests.targets.warehouse_project import DBT_ONLY

DEV, STAGING, PROD = Environment.DEV, Environment.STAGING, Environment.PROD
FCT = dg.AssetKey(["marts_x", "fct_payments"])  # a custom schema: dagster-dbt keys it under it


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReleaseSystem, InstanceRecorder, str]:
    root = tmp_path_factory.mktemp("platform_envs")
    platform = root / "platform"
    for rel, text in DBT_ONLY.items():
        (platform / rel).parent.mkdir(parents=True, exist_ok=True)
        (platform / rel).write_text(text)
    system = ReleaseSystem(
        load_settings(home=root / "home", platform=platform, actor="tester", require_validation=())
    )
    recorder = InstanceRecorder(root / "dagster")
    system.observers.append(recorder)
    release, _ = system.build(platform)
    system.promote(STAGING, release.release_id, override_reason="test: staging alone is enough")
    return system, recorder, release.release_id


def test_environments_are_one_partition_dimension_of_the_models(
    world: tuple[ReleaseSystem, InstanceRecorder, str],
) -> None:
    system, _, _ = world
    (models,) = dbt_model_assets(system.settings.platform)
    assert models.partitions_def == ENVIRONMENTS
    # Each dbt test is a check of its model in one environment, like the model itself.
    assert models.check_specs and {s.partitions_def for s in models.check_specs} == {ENVIRONMENTS}
    assert ENVIRONMENTS.get_partition_keys() == ["dev", "staging", "prod"]
    assert {key.to_user_string() for key in models.keys} >= {"marts_x/fct_payments", "stg_payments"}


def test_a_promotion_materializes_each_deployed_model_in_its_environment_partition(
    world: tuple[ReleaseSystem, InstanceRecorder, str],
) -> None:
    system, recorder, release = world
    deployed = system.environment_models(STAGING)
    assert deployed is not None and deployed.release_id == release
    fingerprints = {m.name: m.fingerprint for m in deployed.models()}
    event = recorder.instance.get_latest_materialization_event(FCT)
    assert event is not None and event.asset_materialization is not None
    materialization = event.asset_materialization
    assert materialization.partition == "staging"
    assert materialization.metadata["release_id"].value == release
    assert materialization.metadata["fingerprint"].value == fingerprints["fct_payments"]
    partitions = recorder.instance.get_materialized_partitions(FCT)
    assert partitions == {"staging"}  # dev and prod run nothing: no partition materialized
    assert system.environment_models(PROD) is None


def test_materializing_a_partition_builds_that_environments_release_on_its_warehouse(
    world: tuple[ReleaseSystem, InstanceRecorder, str],
) -> None:
    system, _, release = world
    staging_db = system.warehouse_target.database(STAGING)
    with duckdb.connect(str(staging_db)) as con:  # a new load lands in staging's raw layer only
        con.execute(
            "insert into raw.payments__payments (payment_id, account_id, amount, status) "
            "select max(payment_id) + 1, min(account_id), 1, 'refunded' from raw.payments__payments"
        )
    (models,) = dbt_model_assets(system.settings.platform)
    result = dg.materialize(
        [models],
        partition_key="staging",
        selection=["stg_payments", "agg_payment_status"],
        resources={
            **platform_resources(),
            "release_system": ReleaseSystemResource(
                home=str(system.settings.home), platform=str(system.settings.platform)
            ),
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    built = {
        e.asset_key.to_user_string(): e
        for e in result.get_asset_materialization_events()
        if e.asset_key is not None
    }
    assert set(built) == {"stg_payments", "agg_payment_status"}
    agg = built["agg_payment_status"].step_materialization_data.materialization
    assert agg.partition == "staging" and agg.metadata["release_id"].value == release
    physical = str(agg.metadata["physical_relation"].value)
    with duckdb.connect(str(staging_db), read_only=True) as con:
        statuses = {row[0] for row in con.execute(f"select status from {physical}").fetchall()}
        published = {
            row[0]
            for row in con.execute("select status from analytics.agg_payment_status").fetchall()
        }
    assert "refunded" in statuses and published == statuses  # consumers read the rebuilt relation
    assert not system.warehouse_target.database(DEV).exists()  # nothing was built anywhere else


def test_a_partition_whose_environment_runs_nothing_fails_with_one_clear_error(
    world: tuple[ReleaseSystem, InstanceRecorder, str],
) -> None:
    system, _, _ = world
    (models,) = dbt_model_assets(system.settings.platform)
    with pytest.raises(NothingPublishedError, match="prod publishes no release"):
        dg.materialize(
            [models],
            partition_key="prod",
            selection=["stg_payments"],
            resources={
                **platform_resources(),
                "release_system": ReleaseSystemResource(home=str(system.settings.home)),
            },
            instance=dg.DagsterInstance.ephemeral(),
        )
