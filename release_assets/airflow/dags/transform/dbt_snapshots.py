"""Airflow DAG ``dbt_snapshots``: daily SCD2 snapshots (customers, accounts, merchants) before the marts."""

from datetime import timedelta

from airflow import DAG
from finsight_platform.dbt import dbt_task
from finsight_platform.defaults import START_DATE, default_args

with DAG(
    dag_id="dbt_snapshots",
    description="Daily dbt snapshots of slowly changing dimensions",
    schedule="0 4 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=default_args("team-analytics-engineering"),
    tags=["dbt", "transform"],
) as dag:
    dbt_task("snapshot", "snapshot")
