"""Airflow DAG ``reconcile_refunds_vs_payments``: no payment is refunded or charged back beyond its amount."""

from datetime import timedelta

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLCheckOperator
from finsight_platform.defaults import SNOWFLAKE_CONN_ID, START_DATE, VAR_RAW_DATABASE, default_args

with DAG(
    dag_id="reconcile_refunds_vs_payments",
    description="Daily check: refunds + chargebacks never exceed the payment they reverse",
    schedule="20 6 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=default_args("team-payments-data", retries=1),
    tags=["reconciliation", "payments"],
) as dag:
    SQLCheckOperator(
        task_id="reversals_within_payment_amount",
        conn_id=SNOWFLAKE_CONN_ID,
        sql=f"""
        SELECT COUNT(*) = 0 FROM (
            SELECT p.payment_id, p.amount,
                   COALESCE(SUM(r.amount), 0) + COALESCE(MAX(c.amount), 0) AS reversed
            FROM {VAR_RAW_DATABASE}.payments.payments AS p
            LEFT JOIN {VAR_RAW_DATABASE}.payments.refunds AS r ON r.payment_id = p.payment_id
            LEFT JOIN {VAR_RAW_DATABASE}.payments.chargebacks AS c ON c.payment_id = p.payment_id
            WHERE CAST(p.updated_at AS DATE) >= DATEADD(day, -30, '{{{{ ds }}}}')
            GROUP BY p.payment_id, p.amount
        ) WHERE reversed > amount
        """,
    )
