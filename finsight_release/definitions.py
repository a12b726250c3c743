"""The Dagster code location: wiring only (assets, checks, jobs, sensors from their modules)."""

from __future__ import annotations

import dagster as dg

from finsight_release.assets.airflow_health import airflow_health_checks, airflow_health_job
from finsight_release.assets.checks import release_validation
from finsight_release.assets.detection import detection_checks, detection_job, detection_schedule
from finsight_release.assets.judgement_checks import release_contracts
from finsight_release.assets.pipeline import pipeline_checks
from finsight_release.assets.platform import platform_assets, platform_resources
from finsight_release.assets.raw_observations import (
    freshness_sensors,
    observe_raw_tables_job,
    observe_raw_tables_schedule,
    raw_freshness_checks,
    raw_warehouse,
)
from finsight_release.assets.releases import deployment_specs, release_specs
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.assets.spark_jobs import spark_job_assets, spark_smoke_checks, spark_smoke_job
from finsight_release.assets.streaming import (
    streaming_health_checks,
    streaming_health_job,
    topic_assets,
)
from finsight_release.automation.alert_sensor import alert_on_audit_events
from finsight_release.automation.audit_retention import prune_audit_job, prune_audit_schedule
from finsight_release.automation.jobs import (
    build_release_job,
    promote_job,
    rollback_job,
    validate_release_job,
)
from finsight_release.automation.post_deploy import (
    after_deployments,
    post_deploy_checks_job,
    post_deploy_checks_schedule,
)
from finsight_release.automation.promotion_sensors import promotion_sensors
from finsight_release.automation.rollback_sensor import rollback_on_failed_checks
from finsight_release.automation.sensors import diagnose_failed_runs
from finsight_release.settings import load_settings

# Dagster's freshness checks on the raw tables, one per source SLA of the dbt project.
freshness_checks = raw_freshness_checks(load_settings().platform)

defs = dg.Definitions(
    assets=[
        *release_specs(),
        *deployment_specs(),
        *platform_assets(),
        *spark_job_assets,
        *topic_assets,
    ],
    asset_checks=[
        release_validation,
        *detection_checks,
        *pipeline_checks,
        *airflow_health_checks,
        *freshness_checks,
        release_contracts,
        *spark_smoke_checks,
        *streaming_health_checks,
    ],
    jobs=[
        build_release_job,
        promote_job,
        rollback_job,
        validate_release_job,
        detection_job,
        observe_raw_tables_job,
        post_deploy_checks_job,
        airflow_health_job,
        prune_audit_job,
        spark_smoke_job,
        streaming_health_job,
    ],
    schedules=[
        observe_raw_tables_schedule,
        post_deploy_checks_schedule,
        detection_schedule,
        prune_audit_schedule,
    ],
    sensors=[
        after_deployments,
        *freshness_sensors(freshness_checks),
        diagnose_failed_runs,
        *promotion_sensors,
        rollback_on_failed_checks,
        alert_on_audit_events,
    ],
    # One process per run: a step subprocess would load the code location (2,500 assets) a second
    # time for single-step jobs (promote/rollback: 25-35 s of a 45 s run on a loaded machine).
    executor=dg.in_process_executor,
    resources={
        "release_system": ReleaseSystemResource(),
        "raw_warehouse": raw_warehouse(),
        **platform_resources(),
    },
)
