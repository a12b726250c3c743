"""The root-cause classes a failure is diagnosed to, with their layer and default rollback advice."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """Where a release failure comes from (ids are part of the JSON contract of `diagnose`)."""

    CI_PIPELINE = "ci_pipeline"
    CONTAINER_BUILD = "container_build"
    DEPENDENCY_CONFLICT = "dependency_conflict"
    IAC_CHANGE = "iac_change"
    INFRA_DRIFT = "infra_drift"
    DAG_PARSE = "dag_parse"
    CONFIG_SECRETS = "config_secrets"
    BAD_CREDENTIALS = "bad_credentials"
    WAREHOUSE_CONNECTIVITY = "warehouse_connectivity"
    SCHEMA_CHANGE = "schema_change"
    DATA_QUALITY = "data_quality"
    RESOURCE_EXHAUSTION = "resource_exhaustion"


@dataclass(frozen=True)
class CategoryInfo:
    """The layer a class lives in and whether rolling back the release is the default remedy."""

    layer: str
    rollback_recommended: bool
    first_step: str


INFO: dict[Category, CategoryInfo] = {
    Category.CI_PIPELINE: CategoryInfo("ci", False, "Re-run the workflow; check runner, checkout and workflow syntax."),
    Category.CONTAINER_BUILD: CategoryInfo("build", False, "Check the image build log, ECR login and base image."),
    Category.DEPENDENCY_CONFLICT: CategoryInfo(
        "dependencies", True, "Resolve requirements against the Airflow 2.10.5 constraints (validate --all)."
    ),
    Category.IAC_CHANGE: CategoryInfo("iac", False, "Fix the Terraform change; check state locks and provider errors."),
    Category.INFRA_DRIFT: CategoryInfo(
        "infrastructure", False, "Run a refresh-only plan; reconcile the manual change into code or revert it."
    ),
    Category.DAG_PARSE: CategoryInfo("airflow", True, "Fix the DAG import error; roll back the DAG bundle meanwhile."),
    Category.CONFIG_SECRETS: CategoryInfo(
        "config", False, "Create or fix the missing connection, variable or secret in the target environment."
    ),
    Category.BAD_CREDENTIALS: CategoryInfo("credentials", False, "Rotate or re-issue the rejected credential."),
    Category.WAREHOUSE_CONNECTIVITY: CategoryInfo(
        "warehouse", False, "Check network path, warehouse state (suspended?) and Snowflake status."
    ),
    Category.SCHEMA_CHANGE: CategoryInfo(
        "schema", True, "Compare the live schema with the dbt contracts; coordinate with the source owner."
    ),
    Category.DATA_QUALITY: CategoryInfo(
        "data", True, "Inspect the failing test's rows; roll back if the release caused it."
    ),
    Category.RESOURCE_EXHAUSTION: CategoryInfo("resources", False, "Raise memory/disk/workers or reduce the load."),
}


def runbook_link(category: Category) -> str:
    """The runbook section for a class."""
    return f"docs/runbooks/README.md#{category.value}"
