"""Airflow DAG ``export_partner_settlements``: daily merchant settlement file for the acquiring partner.

One gzip CSV per run, overwritten on retry/backfill (see finsight_platform.exports).
"""

from datetime import timedelta

from airflow import DAG
from finsight_platform.defaults import START_DATE, default_args
from finsight_platform.exports import unload_and_deliver

QUERY = """
    SELECT merchant_id, currency, SUM(amount) AS settled_amount, COUNT(*) AS payments
    FROM {{ var.value.finsight_raw_database }}.payments.payments
    WHERE status = 'settled'
    AND CAST(updated_at AS DATE) = '{{ ds }}'
    GROUP BY merchant_id, currency
"""

with DAG(
    dag_id="export_partner_settlements",
    description="Daily merchant settlement file for the acquiring partner",
    schedule="15 6 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args("team-payments-data"),
    tags=["export", "s3", "partners"],
) as dag:
    unload_and_deliver("settlements", QUERY, partner_bucket_variable="finsight_partner_acquirer_bucket")
