"""Airflow DAG ``reconcile_fx_rates_completeness``: every currency transacted on a day has a USD rate that day.

Marts convert amounts with s3_market.fx_rates; a missing rate would silently drop rows from USD totals.
"""

from datetime import timedelta

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLCheckOperator
from finsight_platform.defaults import SNOWFLAKE_CONN_ID, START_DATE, VAR_RAW_DATABASE, default_args

with DAG(
    dag_id="reconcile_fx_rates_completeness",
    description="Daily check that all transacted currencies have an FX rate",
    schedule="10 4 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args=default_args("team-market-data", retries=2),
    tags=["reconciliation", "market-data"],
) as dag:
    SQLCheckOperator(
        task_id="every_currency_has_a_rate",
        conn_id=SNOWFLAKE_CONN_ID,
        sql=f"""
        SELECT COUNT(*) = 0 FROM (
            SELECT DISTINCT t.currency FROM {VAR_RAW_DATABASE}.core_banking.transactions AS t
            WHERE CAST(t.created_at AS DATE) = '{{{{ ds }}}}'
        ) AS used
        WHERE used.currency NOT IN (
            SELECT currency FROM {VAR_RAW_DATABASE}.s3_market.fx_rates WHERE rate_date = '{{{{ ds }}}}'
        )
        """,
    )
