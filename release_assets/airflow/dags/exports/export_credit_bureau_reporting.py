"""Airflow DAG ``export_credit_bureau_reporting``: monthly account status file for the credit bureau.

One gzip CSV per run, overwritten on retry/backfill (see finsight_platform.exports).
"""

from datetime import timedelta

from airflow import DAG
from finsight_platform.defaults import START_DATE, default_args
from finsight_platform.exports import unload_and_deliver

QUERY = """
    SELECT a.account_id, a.customer_id, a.status, a.updated_at
    FROM {{ var.value.finsight_raw_database }}.core_banking.accounts AS a
    WHERE a.updated_at < '{{ data_interval_end }}'
"""

with DAG(
    dag_id="export_credit_bureau_reporting",
    description="Monthly account status file for the credit bureau",
    schedule="0 9 2 * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args("team-lending-data"),
    tags=["export", "s3", "partners"],
) as dag:
    unload_and_deliver("credit_bureau", QUERY, partner_bucket_variable="finsight_partner_credit_bureau_bucket")
