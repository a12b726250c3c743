"""Airflow ingestion DAGs of source `core_banking`: one DAG per group of `sources/core_banking.yaml`.

Built by finsight_platform.factory (load semantics are documented there).
"""

from finsight_platform.factory import register_source_dags

register_source_dags("core_banking", globals())
