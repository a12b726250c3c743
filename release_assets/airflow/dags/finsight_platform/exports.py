"""Partner exports: unload a query from Snowflake to the export stage, then deliver the file to a partner bucket.

Idempotent by construction: the file name is derived from the run's date and the unload uses
``OVERWRITE = TRUE SINGLE = TRUE``, so a retry or a backfill replaces that day's file instead of adding one,
and the copy to the partner bucket overwrites the same key.
"""

from __future__ import annotations

from airflow.models.baseoperator import BaseOperator
from airflow.providers.amazon.aws.operators.s3 import S3CopyObjectOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

from finsight_platform.defaults import AWS_CONN_ID, SNOWFLAKE_CONN_ID

EXPORT_STAGE = "{{ var.value.finsight_export_stage }}"
EXPORT_BUCKET = "{{ var.value.finsight_export_bucket }}"
EXPORT_PREFIX = "exports"


def export_key(name: str) -> str:
    """Key of one run's export file under the export stage/bucket."""
    return f"{EXPORT_PREFIX}/{name}/{name}_{{{{ ds_nodash }}}}.csv.gz"


def unload_and_deliver(name: str, query: str, partner_bucket_variable: str) -> list[BaseOperator]:
    """Tasks ``unload_<name>`` >> ``deliver_<name>``: one gzip CSV per run, copied to a partner's bucket.

    Args:
        name: Export name (file and task names).
        query: Snowflake SELECT producing the export rows (may use Jinja, e.g. ``{{ ds }}``).
        partner_bucket_variable: Airflow Variable holding the partner bucket name.
    """
    unload = SQLExecuteQueryOperator(
        task_id=f"unload_{name}",
        conn_id=SNOWFLAKE_CONN_ID,
        sql=(
            f"COPY INTO @{EXPORT_STAGE}/{export_key(name)} FROM ({query}) "
            "FILE_FORMAT = (TYPE = CSV COMPRESSION = GZIP FIELD_OPTIONALLY_ENCLOSED_BY = '\"') "
            "HEADER = TRUE SINGLE = TRUE OVERWRITE = TRUE MAX_FILE_SIZE = 4900000000"
        ),
    )
    deliver = S3CopyObjectOperator(
        task_id=f"deliver_{name}",
        aws_conn_id=AWS_CONN_ID,
        source_bucket_name=EXPORT_BUCKET,
        source_bucket_key=export_key(name),
        dest_bucket_name=f"{{{{ var.value.{partner_bucket_variable} }}}}",
        dest_bucket_key=f"finsight/{name}/{name}_{{{{ ds_nodash }}}}.csv.gz",
    )
    unload >> deliver
    return [unload, deliver]
