"""Airflow DAG ``export_regulatory_reports``.

Daily large-transaction report for the regulator's reporting gateway.

One gzip CSV per run, overwritten on retry/backfill (see finsight_platform.exports).
"""

from datetime import timedelta

from airflow import DAG
from finsight_platform.defaults import START_DATE, default_args
from finsight_platform.exports import unload_and_deliver

QUERY = """
    SELECT transaction_id, account_id, amount, currency, created_at
    FROM {{ var.value.finsight_raw_database }}.core_banking.transactions
    WHERE amount >= 10000
    AND CAST(created_at AS DATE) = '{{ ds }}'
"""

with DAG(
    dag_id="export_regulatory_reports",
    description="Daily large-transaction report for the regulator's reporting gateway",
    schedule="0 8 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args("team-compliance-data"),
    tags=["export", "s3", "partners"],
) as dag:
    unload_and_deliver("regulatory", QUERY, partner_bucket_variable="finsight_partner_regulator_bucket")
