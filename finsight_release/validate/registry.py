"""The default set of pre-deploy checks, in the order their results are reported."""

from __future__ import annotations

from finsight_release.validate.airflow_dags import AirflowDagsCheck
from finsight_release.validate.airflow_plugins import AirflowPluginsCheck
from finsight_release.validate.avro_compat import AvroCompatibilityCheck
from finsight_release.validate.check import Check
from finsight_release.validate.config_check import ConfigSchemaCheck, SecretRefCheck
from finsight_release.validate.dag_rules import DagRulesCheck
from finsight_release.validate.dbt_check import DbtCheck
from finsight_release.validate.dependencies import DependencyCheck
from finsight_release.validate.image_spec import ImageSpecCheck
from finsight_release.validate.secrets_scan import SecretsScanCheck
from finsight_release.validate.spark_jobs import SparkJobsCheck
from finsight_release.validate.terraform import TerraformDriftCheck, TerraformPolicyCheck
from finsight_release.validate.warehouse_check import WarehousePreflightCheck


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
