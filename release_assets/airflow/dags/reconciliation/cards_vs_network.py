"""Airflow DAG ``reconcile_cards_vs_network``: approved authorizations match the card network's daily file.

The network's file lands under s3_partners (card_networks group); counts may differ by late events,
so the check allows 0.5 %.
"""

from datetime import timedelta

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLThresholdCheckOperator
from finsight_platform.defaults import SNOWFLAKE_CONN_ID, START_DATE, VAR_RAW_DATABASE, default_args

with DAG(
    dag_id="reconcile_cards_vs_network",
    description="Daily approved authorizations vs the card network's settlement file (0.5% tolerance)",
    schedule="0 7 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=default_args("team-cards-data", retries=1),
    tags=["reconciliation", "cards"],
) as dag:
    SQLThresholdCheckOperator(
        task_id="authorization_count_difference",
        conn_id=SNOWFLAKE_CONN_ID,
        sql=f"""
        SELECT ABS(ours.n - theirs.n) / NULLIF(theirs.n, 0)
        FROM (SELECT COUNT(*) AS n FROM {VAR_RAW_DATABASE}.s3_events.card_authorizations
              WHERE approved AND CAST(event_ts AS DATE) = '{{{{ ds }}}}') AS ours,
             (SELECT COUNT(*) AS n FROM {VAR_RAW_DATABASE}.s3_partners.card_network_batches
              WHERE CAST(event_ts AS DATE) = '{{{{ ds }}}}') AS theirs
        """,
        min_threshold=0,
        max_threshold=0.005,
    )
