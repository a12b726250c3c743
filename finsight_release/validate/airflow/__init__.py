"""``airflow.*`` checks: the DAG bundle in a real DagBag, static DAG rules, plugins, requirements."""
