"""Airflow DAG ``dbt_source_freshness``: hourly freshness of every raw source; failures alert the owner."""

from datetime import timedelta

from airflow import DAG
from finsight_platform.dbt import dbt_task
from finsight_platform.defaults import START_DATE, default_args

with DAG(
    dag_id="dbt_source_freshness",
    description="Hourly dbt source freshness over all raw sources",
    schedule="50 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    # No retries: a stale source stays stale for minutes; the next hourly run re-checks it.
    default_args=default_args("team-analytics-engineering", retries=0),
    tags=["dbt", "transform", "monitoring"],
) as dag:
    dbt_task("source_freshness", "source", "freshness")
