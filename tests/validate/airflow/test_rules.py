"""Static DAG rules: each fires on its anti-pattern and stays quiet on the platform's convention."""

from __future__ import annotations

import pytest

from finsight_release.validate.airflow.rules import rule_findings

GOOD = """
import pendulum
from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
with DAG("good", start_date=pendulum.datetime(2024, 1, 1), schedule="@hourly", catchup=False,
         default_args={"owner": "data", "retries": 2}):
    SQLExecuteQueryOperator(task_id="m", conn_id="snowflake_default",
                            sql="MERGE INTO raw.t USING stage s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = s.x")
"""

BAD = {
    "top_level_call": 'from airflow.models import Variable\nBUCKET = Variable.get("bucket")\n',
    "dynamic_start_date": "from datetime import datetime\nfrom airflow import DAG\n"
    'DAG("d", start_date=datetime.now(), schedule="@daily", default_args={"owner": "a", "retries": 1})\n',
    "catchup_frequent": 'import pendulum\nfrom airflow import DAG\nDAG("d", start_date=pendulum.datetime(2024, 1, 1), '
    'schedule="*/15 * * * *", catchup=True, default_args={"owner": "a", "retries": 1})\n',
    "missing_owner_retries": "import pendulum\nfrom airflow import DAG\n"
    'DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily", default_args={"owner": "a"})\n',
    "non_idempotent_load": 'SQL = "INSERT INTO raw.payments SELECT * FROM stage.payments"\n',
}


def rules(source: str) -> set[str]:
    return {
        f.check_id.removeprefix("airflow.rule.")
        for f in rule_findings(source, "dags/x.py", "airflow/dags")
    }


def test_convention_passes() -> None:
    assert rules(GOOD) == set()


@pytest.mark.parametrize("rule", sorted(BAD))
def test_each_rule_fires(rule: str) -> None:
    assert rule in rules(BAD[rule])


def test_variable_inside_a_task_is_fine_and_findings_have_lines() -> None:
    source = 'from airflow.models import Variable\ndef task():\n    return Variable.get("bucket")\n'
    assert rules(source) == set()
    (finding,) = rule_findings(BAD["top_level_call"], "dags/x.py", "airflow/dags")
    assert finding.line == 2 and finding.severity == "warning"  # Airflow still loads it
