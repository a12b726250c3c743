"""Airflow ingestion DAGs of source `compliance`: one DAG per group of `sources/compliance.yaml`.

Built by finsight_platform.factory (load semantics are documented there).
"""

from finsight_platform.factory import register_source_dags

register_source_dags("compliance", globals())
