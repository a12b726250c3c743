"""The classifier names the root cause, including when another layer's error wraps it."""

from __future__ import annotations

import pytest

from finsight_release.diagnose.categories import Category
from finsight_release.diagnose.classifier import DiagnosisContext, diagnose_text

CASES = [
    ("Broken DAG: [/usr/local/airflow/dags/ingest.py] Traceback (most recent call last):\n"
     '  File "/usr/local/airflow/dags/ingest.py", line 3, in <module>\n'
     "ModuleNotFoundError: No module named 'pandas_gbq'", Category.DEPENDENCY_CONFLICT),
    ("Broken DAG: [/opt/airflow/dags/x.py]   File \"x.py\", line 12\n    with DAG(\nSyntaxError: invalid syntax",
     Category.DAG_PARSE),
    ("[2024-05-01, 10:00:00 UTC] {taskinstance.py:2905} ERROR - Task failed with exception\n"
     "snowflake.connector.errors.ProgrammingError: 000904 (42000): SQL compilation error: error line 1 at "
     "position 7\ninvalid identifier 'AMOUNT_USD'", Category.SCHEMA_CHANGE),
    ("Database Error in model stg_payments (models/staging/stg_payments.sql)\n"
     "  250001 (08001): Failed to connect to DB: xy12345.snowflakecomputing.com:443. Incorrect username or "
     "password was specified.", Category.BAD_CREDENTIALS),
    ("airflow.exceptions.AirflowNotFoundException: The conn_id `postgres_lending` isn't defined",
     Category.CONFIG_SECRETS),
    ("Error: Error acquiring the state lock\n\nError message: ConditionalCheckFailedException: The conditional "
     "request failed\nLock Info:\n  ID: 1c2e", Category.IAC_CHANGE),
    ("Note: Objects have changed outside of Terraform\n\nTerraform detected the following changes made outside "
     "of Terraform since the last \"terraform apply\":", Category.INFRA_DRIFT),
    ("Failure in test not_null_fct_payments_payment_id (models/marts/payments/_payments.yml)\n"
     "  Got 12 results, configured to fail if != 0", Category.DATA_QUALITY),
    ("23/11/02 ERROR TaskSchedulerImpl: Lost executor 3 on 10.0.1.7: Container killed by YARN for exceeding "
     "memory limits. java.lang.OutOfMemoryError: Java heap space", Category.RESOURCE_EXHAUSTION),
    ("#12 ERROR: failed to solve: process \"/bin/sh -c pip install -r requirements.txt\" did not complete "
     "successfully: exit code: 1", Category.CONTAINER_BUILD),
    ("The job running on runner GitHub Actions 12 has exceeded the maximum execution time of 60 minutes.",
     Category.CI_PIPELINE),
    ("snowflake.connector.errors.OperationalError: 250003: Failed to execute request: Max retries exceeded "
     "with url: /session/v1/login-request (Caused by ConnectTimeoutError: Connection timed out)",
     Category.WAREHOUSE_CONNECTIVITY),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[1].value + str(i) for i, c in enumerate(CASES)])
def test_root_cause(text: str, expected: Category) -> None:
    diagnosis = diagnose_text(text)
    assert diagnosis.category == expected, diagnosis.scores
    assert diagnosis.evidence and 0 < diagnosis.confidence <= 1
    assert diagnosis.next_steps[-1].endswith(f"docs/runbooks/README.md#{expected.value}")


def test_context_breaks_ties_and_secrets_are_redacted() -> None:
    text = "ERROR: job failed: password=hunter2supersecret while connecting"
    plain = diagnose_text(text)
    hinted = diagnose_text(text, DiagnosisContext(failed_step="doctor:credentials"))
    assert hinted.category == Category.BAD_CREDENTIALS
    assert all("hunter2" not in line for line in plain.evidence + hinted.evidence)


def test_keyword_prefilter_never_hides_a_matching_line() -> None:
    from finsight_release.diagnose.classifier import candidate_lines
    from finsight_release.diagnose.patterns import PATTERNS

    text = "\n".join(t for t, _ in CASES)
    indexes, lines = candidate_lines(text)
    matching = {i for i, line in enumerate(lines) if any(p.search(line) for p, _, _ in PATTERNS)}
    assert matching and matching <= set(indexes)
