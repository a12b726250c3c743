"""Airflow DAG ``maintenance_dev_clone_refresh``: weekly zero-copy clone of prod RAW for development.

Runs only where ``finsight_environment`` is ``prod`` (the clone source); elsewhere the DAG short-circuits.
CREATE OR REPLACE ... CLONE is atomic and idempotent.
"""

from datetime import timedelta

from airflow import DAG
from airflow.operators.python import ShortCircuitOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from finsight_platform.defaults import SNOWFLAKE_CONN_ID, START_DATE, VAR_RAW_DATABASE, default_args


def is_prod(environment: str) -> bool:
    """True only in prod, the one environment whose RAW database is cloned."""
    return environment == "prod"


with DAG(
    dag_id="maintenance_dev_clone_refresh",
    description="Weekly zero-copy clone of RAW into the dev clone database",
    schedule="0 5 * * 0",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=default_args("team-data-platform"),
    tags=["maintenance", "snowflake"],
) as dag:
    only_in_prod = ShortCircuitOperator(
        task_id="only_in_prod",
        python_callable=is_prod,
        op_kwargs={"environment": "{{ var.value.finsight_environment }}"},
    )
    clone = SQLExecuteQueryOperator(
        task_id="clone_raw",
        conn_id=SNOWFLAKE_CONN_ID,
        sql=f"CREATE OR REPLACE DATABASE {{{{ var.value.finsight_dev_clone_database }}}} CLONE {VAR_RAW_DATABASE}",
    )
    only_in_prod >> clone
