"""Airflow DAG ``export_merchant_statements``.

Daily per-merchant fee statement for the merchant portal partner.

One gzip CSV per run, overwritten on retry/backfill (see finsight_platform.exports).
"""

from datetime import timedelta

from airflow import DAG
from finsight_platform.defaults import START_DATE, default_args
from finsight_platform.exports import unload_and_deliver

# The fee schedule in force on the day: the newest merchant_fees row with effective_from <= ds.
QUERY = """
    SELECT p.merchant_id, p.currency, SUM(p.amount) AS volume,
           SUM(p.amount * f.fee_bps / 10000 + f.fixed_fee) AS fees
    FROM {{ var.value.finsight_raw_database }}.payments.payments AS p
    JOIN (
        SELECT merchant_id, fee_bps, fixed_fee
        FROM {{ var.value.finsight_raw_database }}.merchants.merchant_fees
        WHERE effective_from <= '{{ ds }}'
        QUALIFY ROW_NUMBER() OVER (PARTITION BY merchant_id ORDER BY effective_from DESC) = 1
    ) AS f ON f.merchant_id = p.merchant_id
    WHERE CAST(p.created_at AS DATE) = '{{ ds }}'
    GROUP BY p.merchant_id, p.currency
"""

with DAG(
    dag_id="export_merchant_statements",
    description="Daily per-merchant fee statement for the merchant portal partner",
    schedule="30 6 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args("team-merchant-data"),
    tags=["export", "s3", "partners"],
) as dag:
    unload_and_deliver("statements", QUERY, partner_bucket_variable="finsight_partner_merchant_portal_bucket")
