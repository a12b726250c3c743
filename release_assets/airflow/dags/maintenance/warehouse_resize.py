"""Airflow DAGs ``maintenance_warehouse_scale_up`` / ``_scale_down``: size the transform warehouse for the night.

The nightly dbt window (snapshots 04:00, marts 04:30) runs on a LARGE warehouse; outside it an XSMALL one
with a short auto-suspend is enough. Resizing is idempotent (ALTER ... SET), so retries are safe.
"""

from datetime import timedelta

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from finsight_platform.defaults import SNOWFLAKE_CONN_ID, START_DATE, default_args

WAREHOUSE = "{{ var.value.finsight_transform_warehouse }}"
RESIZES = {
    "maintenance_warehouse_scale_up": ("45 3 * * *", "LARGE", 300),
    "maintenance_warehouse_scale_down": ("30 7 * * *", "XSMALL", 60),
}

for dag_id, (schedule, size, auto_suspend_seconds) in RESIZES.items():
    with DAG(
        dag_id=dag_id,
        description=f"Resize the transform warehouse to {size}",
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(minutes=15),
        default_args=default_args("team-data-platform", retries=3),
        tags=["maintenance", "snowflake"],
    ) as dag:
        SQLExecuteQueryOperator(
            task_id="resize_warehouse",
            conn_id=SNOWFLAKE_CONN_ID,
            sql=f"ALTER WAREHOUSE {WAREHOUSE} SET WAREHOUSE_SIZE = '{size}' AUTO_SUSPEND = {auto_suspend_seconds}",
        )
    globals()[dag_id] = dag
