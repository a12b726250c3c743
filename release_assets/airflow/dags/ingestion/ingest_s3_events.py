"""Airflow ingestion DAGs of source `s3_events`: one DAG per group of `sources/s3_events.yaml`.

Built by finsight_platform.factory (load semantics are documented there).
"""

from finsight_platform.factory import register_source_dags

register_source_dags("s3_events", globals())
