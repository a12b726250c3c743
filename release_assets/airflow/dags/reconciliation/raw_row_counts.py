"""Airflow DAG ``reconcile_raw_row_counts``: source vs raw row counts of the critical PostgreSQL tables.

Counts rows changed on the previous day in the source database and in Snowflake RAW; after the MERGE they
must match exactly (a lower raw count means a lost interval, a higher one duplicated keys).
"""

from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator
from finsight_platform.defaults import SNOWFLAKE_CONN_ID, START_DATE, default_args, postgres_conn_id

CRITICAL_TABLES = [("core_banking", "transactions"), ("payments", "payments"), ("core_banking", "accounts")]


def compare_counts(source: str, table: str, raw_database: str, ds: str) -> None:
    """Fail when the day's row count differs between the source table and its raw copy."""
    from airflow.exceptions import AirflowFailException
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

    window = "updated_at >= %(day)s::date AND updated_at < %(day)s::date + 1"
    source_count = PostgresHook(postgres_conn_id=postgres_conn_id(source)).get_first(
        f"SELECT COUNT(*) FROM public.{table} WHERE {window}", parameters={"day": ds}
    )[0]
    raw_count = SnowflakeHook(snowflake_conn_id=SNOWFLAKE_CONN_ID).get_first(
        f"SELECT COUNT(*) FROM {raw_database}.{source}.{table} "
        "WHERE updated_at >= %(day)s::date AND updated_at < DATEADD(day, 1, %(day)s::date)",
        parameters={"day": ds},
    )[0]
    if source_count != raw_count:
        raise AirflowFailException(f"{source}.{table} on {ds}: {source_count} source rows, {raw_count} raw rows")


with DAG(
    dag_id="reconcile_raw_row_counts",
    description="Daily source-vs-raw row counts of the critical PostgreSQL tables",
    schedule="30 5 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=default_args("team-data-platform", retries=1),
    tags=["reconciliation", "data-quality"],
) as dag:
    for source, table in CRITICAL_TABLES:
        PythonOperator(
            task_id=f"compare_{source}__{table}",
            python_callable=compare_counts,
            op_kwargs={
                "source": source,
                "table": table,
                "raw_database": "{{ var.value.finsight_raw_database }}",
                "ds": "{{ ds }}",
            },
        )
