"""Airflow DAG ``reconcile_ledger_vs_payments`` (critical): the day's settled payments match the ledger.

Per currency, settled payments (payments.payments) must equal merchant debits booked in the core ledger
(core_banking.transactions, debits with a merchant) within 1.00; and no currency may appear on one side
only. A failure pages the payments and finance owners before the 08:00 finance close (SLA 1 h).
"""

from datetime import timedelta

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLCheckOperator, SQLThresholdCheckOperator
from finsight_platform.alerts import notify_sla_miss
from finsight_platform.defaults import SNOWFLAKE_CONN_ID, START_DATE, VAR_RAW_DATABASE, default_args

DAILY_TOTALS = f"""
WITH payments AS (
    SELECT currency, SUM(amount) AS amount FROM {VAR_RAW_DATABASE}.payments.payments
    WHERE status = 'settled' AND CAST(created_at AS DATE) = '{{{{ ds }}}}' GROUP BY currency
), ledger AS (
    SELECT currency, SUM(amount) AS amount FROM {VAR_RAW_DATABASE}.core_banking.transactions
    WHERE direction = 'debit' AND merchant_id IS NOT NULL AND status = 'posted'
      AND CAST(created_at AS DATE) = '{{{{ ds }}}}' GROUP BY currency
)
SELECT COALESCE(p.currency, l.currency) AS currency, p.amount AS payments_amount, l.amount AS ledger_amount
FROM payments AS p FULL OUTER JOIN ledger AS l ON p.currency = l.currency
"""

with DAG(
    dag_id="reconcile_ledger_vs_payments",
    description="Daily reconciliation of settled payments against the core ledger",
    schedule="0 6 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=default_args("team-finance-data", retries=1, sla=timedelta(hours=1)),
    sla_miss_callback=notify_sla_miss,
    tags=["reconciliation", "finance", "critical"],
) as dag:
    currencies_on_both_sides = SQLCheckOperator(
        task_id="currencies_on_both_sides",
        conn_id=SNOWFLAKE_CONN_ID,
        sql=f"SELECT COUNT(*) = 0 FROM ({DAILY_TOTALS}) WHERE payments_amount IS NULL OR ledger_amount IS NULL",
    )
    largest_difference_within_tolerance = SQLThresholdCheckOperator(
        task_id="largest_difference_within_tolerance",
        conn_id=SNOWFLAKE_CONN_ID,
        sql=f"SELECT COALESCE(MAX(ABS(payments_amount - ledger_amount)), 0) FROM ({DAILY_TOTALS})",
        min_threshold=0,
        max_threshold=1.00,
    )
    currencies_on_both_sides >> largest_difference_within_tolerance
