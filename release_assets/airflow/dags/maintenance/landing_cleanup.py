"""Airflow DAG ``maintenance_landing_cleanup``: delete landed extracts older than 14 days.

Extracts are only needed to re-run a MERGE of a recent interval; older backfills re-extract from the
source. Keys are partitioned by day first (plugin macro ``finsight.landing_day_prefix``), so one prefix
delete removes one day.
"""

from datetime import timedelta

from airflow import DAG
from airflow.providers.amazon.aws.operators.s3 import S3DeleteObjectsOperator
from finsight_platform.defaults import AWS_CONN_ID, START_DATE, VAR_LANDING_BUCKET, default_args

RETENTION_DAYS = 14

with DAG(
    dag_id="maintenance_landing_cleanup",
    description=f"Delete landing-bucket extracts older than {RETENTION_DAYS} days",
    schedule="30 1 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args=default_args("team-data-platform"),
    tags=["maintenance", "s3"],
) as dag:
    S3DeleteObjectsOperator(
        task_id="delete_expired_extracts",
        aws_conn_id=AWS_CONN_ID,
        bucket=VAR_LANDING_BUCKET,
        prefix=f"{{{{ macros.finsight.landing_day_prefix(macros.ds_add(ds, -{RETENTION_DAYS})) }}}}",
    )
