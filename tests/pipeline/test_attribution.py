"""Lineage attribution: a failure is traced to the nearest changed asset upstream of it, or to none."""

from __future__ import annotations

from finsight_release.envs.environment import Environment
from finsight_release.pipeline.attribution import LiveChange, attribute
from finsight_release.release.artifact import ArtifactKind

PARENTS = {
    "fct_payments": {"int_payments", "prod/dbt_models"},
    "int_payments": {"stg_payments", "prod/dbt_models"},
    "stg_payments": {"raw/payments", "prod/dbt_models"},
    "raw/payments": {"prod/airflow_dags"},
    "prod/airflow_dags": {"release/airflow_dags", "staging/airflow_dags"},
    "prod/dbt_models": {"release/dbt_models", "staging/dbt_models"},
    "dashboards": {"fct_payments"},
}
CHANGE = LiveChange(Environment.PROD, "r-2", "r-1", frozenset({ArtifactKind.DBT_PROJECT}))


def test_a_failure_downstream_of_the_change_is_attributed_with_its_path() -> None:
    found = attribute("dashboards", PARENTS, {"prod/dbt_models": CHANGE})
    assert found is not None and found.change == CHANGE
    assert found.path == ("prod/dbt_models", "fct_payments", "dashboards")
    assert found.describe() == "r-2 in prod: prod/dbt_models -> fct_payments -> dashboards"


def test_a_failure_the_change_does_not_reach_is_not_attributed() -> None:
    assert attribute("raw/payments", PARENTS, {"prod/dbt_models": CHANGE}) is None
    assert attribute("unknown_asset", PARENTS, {"prod/dbt_models": CHANGE}) is None


def test_the_changed_asset_itself_failing_is_attributed() -> None:
    found = attribute("prod/dbt_models", PARENTS, {"prod/dbt_models": CHANGE})
    assert found is not None and found.path == ("prod/dbt_models",)


def test_a_failure_in_an_environment_partition_is_traced_through_that_environments_deployment() -> (
    None
):
    dev_change = LiveChange(Environment.DEV, "r-3", "r-2", frozenset({ArtifactKind.DBT_PROJECT}))
    changed = {"dev/dbt_models": dev_change, "prod/dbt_models": CHANGE}
    found = attribute("fct_payments", PARENTS, changed, partition="dev")
    assert found is not None and found.change == dev_change
    assert found.path == ("dev/dbt_models", "fct_payments")  # not via staging and prod
    in_prod = attribute("fct_payments", PARENTS, changed, partition="prod")
    assert in_prod is not None and in_prod.change == CHANGE
    assert in_prod.path == ("prod/dbt_models", "fct_payments")
    # Another environment's change never explains a failure judged in this one.
    assert attribute("fct_payments", PARENTS, {"prod/dbt_models": CHANGE}, "staging") is None
    # A partition that is no environment (a release id) does not scope the search.
    by_release = attribute("fct_payments", PARENTS, {"prod/dbt_models": CHANGE}, "r-9")
    assert by_release is not None and by_release.change == CHANGE
