"""Airflow DAG ``maintenance_airflow_db_cleanup``: purge metadata older than 30 days (``airflow db clean``).

Without it the metadata DB grows by ~5,000 task instances per hour of ingestion and the scheduler slows.
"""

from datetime import timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from finsight_platform.defaults import START_DATE, default_args

with DAG(
    dag_id="maintenance_airflow_db_cleanup",
    description="airflow db clean of task instances, runs, logs and XComs older than 30 days",
    schedule="0 2 * * 0",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args("team-data-platform", retries=1),
    tags=["maintenance", "airflow"],
) as dag:
    BashOperator(
        task_id="db_clean",
        bash_command=(
            "airflow db clean --clean-before-timestamp '{{ macros.ds_add(ds, -30) }}' "
            "--tables task_instance,dag_run,log,xcom,job,rendered_task_instance_fields --skip-archive --yes"
        ),
    )
