"""Shared code of FinSight's Airflow DAGs (not DAG files: excluded from parsing by ``dags/.airflowignore``).

``specs``, ``load_sql`` and ``local_load`` are pure Python and import without Airflow; ``defaults``,
``alerts``, ``factory``, ``dbt`` and ``exports`` build Airflow objects.
"""
