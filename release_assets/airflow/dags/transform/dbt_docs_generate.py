"""Airflow DAG ``dbt_docs_generate``: nightly dbt docs (catalog + manifest) published by the dbt image."""

from datetime import timedelta

from airflow import DAG
from finsight_platform.dbt import dbt_task
from finsight_platform.defaults import START_DATE, default_args

with DAG(
    dag_id="dbt_docs_generate",
    description="Nightly dbt docs generate",
    schedule="0 7 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=default_args("team-analytics-engineering", retries=1),
    tags=["dbt", "transform", "docs"],
) as dag:
    dbt_task("docs_generate", "docs", "generate")
