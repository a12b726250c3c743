"""Airflow DAG ``export_card_network_clearing``.

Daily clearing file of approved card authorizations for the card network.

One gzip CSV per run, overwritten on retry/backfill (see finsight_platform.exports).
"""

from datetime import timedelta

from airflow import DAG
from finsight_platform.defaults import START_DATE, default_args
from finsight_platform.exports import unload_and_deliver

QUERY = """
    SELECT auth_id, merchant_id, amount, currency, event_ts
    FROM {{ var.value.finsight_raw_database }}.s3_events.card_authorizations
    WHERE approved
    AND CAST(event_ts AS DATE) = '{{ ds }}'
"""

with DAG(
    dag_id="export_card_network_clearing",
    description="Daily clearing file of approved card authorizations for the card network",
    schedule="45 5 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args("team-cards-data"),
    tags=["export", "s3", "partners"],
) as dag:
    unload_and_deliver("clearing", QUERY, partner_bucket_variable="finsight_partner_card_network_bucket")
