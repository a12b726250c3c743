"""The root-cause classes a failure is diagnosed to, with their layer, rollback default and runbook.

The ids are part of the JSON contract of ``finsight-release diagnose``; do not rename them.
``unclassified`` is not a root cause: it is the honest answer when the evidence supports no class.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

RUNBOOK_PATH = "docs/runbooks/README.md"


class Category(StrEnum):
    """Where a release failure comes from, ordered roughly by layer (CI first, data last)."""

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
    UNCLASSIFIED = "unclassified"

    @property
    def runbook_anchor(self) -> str:
        """The anchor of this class's section in the runbook (the id itself)."""
        return self.value


# The twelve root-cause classes (every member but UNCLASSIFIED), in layer order.
ROOT_CAUSES: tuple[Category, ...] = tuple(c for c in Category if c is not Category.UNCLASSIFIED)


@dataclass(frozen=True)
class CategoryInfo:
    """The layer a class lives in, whether rolling back is the default remedy, and the first moves."""

    layer: str
    rollback_recommended: bool
    first_step: str
    confirm: str


INFO: dict[Category, CategoryInfo] = {
    Category.CI_PIPELINE: CategoryInfo(
        "ci",
        False,
        "Re-run the workflow; check the runner, checkout, workflow syntax and job timeout.",
        "Confirm the failing step is a GitHub Actions step, not a finsight-release command (actionlint).",
    ),
    Category.CONTAINER_BUILD: CategoryInfo(
        "build",
        False,
        "Read the docker build log; check ECR login, the base image and the target platform (linux/amd64).",
        "Confirm with `aws ecr describe-images` that the image digest of the release exists.",
    ),
    Category.DEPENDENCY_CONFLICT: CategoryInfo(
        "dependencies",
        True,
        "Pin requirements to versions allowed by constraints-2.10.5.txt and the installed providers.",
        "Confirm with `finsight-release validate --all` (deps.* findings).",
    ),
    Category.IAC_CHANGE: CategoryInfo(
        "iac",
        False,
        "Fix the Terraform change (arguments, imports of existing resources); release a stale lock only "
        "after confirming no apply runs.",
        "Confirm on the stack's `terraform plan` output and the validate terraform.* findings.",
    ),
    Category.INFRA_DRIFT: CategoryInfo(
        "infrastructure",
        False,
        "Codify the manual change or revert it; promotions touching drifted resources wait meanwhile.",
        "Confirm with `terraform plan -refresh-only -json` ingested by `finsight-release drift ingest`.",
    ),
    Category.DAG_PARSE: CategoryInfo(
        "airflow",
        True,
        "Fix the DAG import error (file and line in the evidence); roll back the DAG bundle meanwhile.",
        "Confirm with `finsight-release validate --env ENV` (airflow.* findings).",
    ),
    Category.CONFIG_SECRETS: CategoryInfo(
        "config",
        False,
        "Create the missing connection, Variable, secret or environment variable in the target environment.",
        "Confirm with `finsight-release doctor --env ENV` (stops at secrets or grants).",
    ),
    Category.BAD_CREDENTIALS: CategoryInfo(
        "credentials",
        False,
        "Rotate or re-issue the rejected credential (Secrets Manager, Snowflake key pair, CI OIDC role).",
        "Confirm with the doctor credentials probe.",
    ),
    Category.WAREHOUSE_CONNECTIVITY: CategoryInfo(
        "warehouse",
        False,
        "Check the network path (VPC endpoint, proxy, DNS), the account identifier and the warehouse state.",
        "Confirm with `finsight-release doctor --env ENV` (stops at warehouse).",
    ),
    Category.SCHEMA_CHANGE: CategoryInfo(
        "schema",
        True,
        "Compare the live schema with the dbt contracts and sources; coordinate with the source owner.",
        "Confirm with the doctor live_schema layer and validate dbt.*/streaming.* findings.",
    ),
    Category.DATA_QUALITY: CategoryInfo(
        "data",
        True,
        "Inspect the failing test's rows; roll back if the regression is downstream of the release.",
        "Confirm with `dbt test --select <model>` / the Soda contract and the release's lineage.",
    ),
    Category.RESOURCE_EXHAUSTION: CategoryInfo(
        "resources",
        False,
        "Raise memory, disk or workers, or reduce the load (split the job, smaller batches).",
        "Confirm with the task or container metrics in CloudWatch around the failure.",
    ),
    Category.UNCLASSIFIED: CategoryInfo(
        "unknown",
        False,
        "Read the last error of the failed step's output; the candidates below say what would decide.",
        "Run `finsight-release doctor --env ENV`: it stops at the first failing layer.",
    ),
}


def runbook_link(category: Category) -> str:
    """The runbook section for a class, relative to the repository root."""
    return f"{RUNBOOK_PATH}#{category.runbook_anchor}"
