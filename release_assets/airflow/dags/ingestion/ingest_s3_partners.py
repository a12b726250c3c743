"""Airflow ingestion DAGs of source `s3_partners`: one DAG per group of `sources/s3_partners.yaml`.

Built by finsight_platform.factory (load semantics are documented there).
"""

from finsight_platform.factory import register_source_dags

register_source_dags("s3_partners", globals())
