"""Airflow DAG ``dbt_build_staging``: hourly build of the staging models over the raw layer."""

from datetime import timedelta

from airflow import DAG
from finsight_platform.dbt import dbt_task
from finsight_platform.defaults import START_DATE, default_args

with DAG(
    dag_id="dbt_build_staging",
    description="Hourly dbt build of staging models (views + tests)",
    schedule="40 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=50),
    default_args=default_args("team-analytics-engineering"),
    tags=["dbt", "transform"],
) as dag:
    dbt_task("build_staging", "build", "--select", "staging")
