"""The default set of pre-deploy checks, in the order their results are reported."""

from __future__ import annotations

from finsight_release.validate.airflow.dagbag import AirflowDagsCheck
from finsight_release.validate.airflow.plugins import AirflowPluginsCheck
from finsight_release.validate.airflow.requirements import DependencyCheck
from finsight_release.validate.airflow.rules import DagRulesCheck
from finsight_release.validate.check import Check
from finsight_release.validate.config.check import ConfigSchemaCheck, SecretRefCheck
from finsight_release.validate.dbt.check import DbtCheck
from finsight_release.validate.images.spec import ImageSpecCheck
from finsight_release.validate.secrets.scan import SecretsScanCheck
from finsight_release.validate.spark.check import SparkJobsCheck
from finsight_release.validate.streaming.check import AvroCompatibilityCheck
from finsight_release.validate.terraform.checks import TerraformDriftCheck, TerraformPolicyCheck
from finsight_release.validate.warehouse.check import WarehousePreflightCheck


def default_checks() -> list[Check]:
    """Every check the release validator runs."""
    return [
        AirflowDagsCheck(),
        DagRulesCheck(),
        AirflowPluginsCheck(),
        DependencyCheck(),
        DbtCheck(),
        TerraformPolicyCheck(),
        TerraformDriftCheck(),
        AvroCompatibilityCheck(),
        SparkJobsCheck(),
        SecretsScanCheck(),
        ConfigSchemaCheck(),
        SecretRefCheck(),
        ImageSpecCheck(),
        WarehousePreflightCheck(),
    ]
