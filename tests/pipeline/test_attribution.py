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
