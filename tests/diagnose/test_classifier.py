"""The classifier names the root cause, including when another layer's error wraps it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from finsight_release.diagnose.categories import ROOT_CAUSES, Category
from finsight_release.diagnose.classifier import (
    DiagnosisContext,
    candidate_lines,
    diagnose_file,
    diagnose_text,
    redact,
)
from finsight_release.diagnose.evaluate import load_corpus
from finsight_release.diagnose.patterns import RULES

# One short, realistic failure per class: every class must be reachable.
ONE_PER_CLASS = [
    (
        "The job running on runner GitHub Actions 12 has exceeded the maximum execution time of 60 minutes.",
        Category.CI_PIPELINE,
    ),
    (
        '#12 ERROR: failed to solve: process "/bin/sh -c pip install -r requirements.txt" did not complete '
        "successfully: exit code: 1",
        Category.CONTAINER_BUILD,
    ),
    (
        "ERROR: Cannot install apache-airflow-providers-snowflake because these package versions have conflicting "
        "dependencies.\nERROR: ResolutionImpossible",
        Category.DEPENDENCY_CONFLICT,
    ),
    (
        'Error: Unsupported argument\n  on main.tf line 12, in resource "aws_s3_bucket" "raw":\n'
        '  12:   acl_policy = "private"\nAn argument named "acl_policy" is not expected here.',
        Category.IAC_CHANGE,
    ),
    (
        "Note: Objects have changed outside of Terraform\n  # aws_security_group.mwaa has changed",
        Category.INFRA_DRIFT,
    ),
    (
        "Broken DAG: [/usr/local/airflow/dags/ingest_loans.py] invalid syntax (ingest_loans.py, line 34)",
        Category.DAG_PARSE,
    ),
    (
        "airflow.exceptions.AirflowNotFoundException: The conn_id `postgres_lending` isn't defined",
        Category.CONFIG_SECRETS,
    ),
    (
        "250001 (08001): Failed to connect to DB: xy12345.snowflakecomputing.com:443. Incorrect username or "
        "password was specified.",
        Category.BAD_CREDENTIALS,
    ),
    (
        "000606 (57P03): No active warehouse selected in the current session.",
        Category.WAREHOUSE_CONNECTIVITY,
    ),
    (
        "000904 (42000): SQL compilation error: error line 1 at position 7\ninvalid identifier 'AMOUNT_USD'",
        Category.SCHEMA_CHANGE,
    ),
    (
        "Failure in test not_null_fct_payments_payment_id (models/marts/payments/_payments.yml)\n"
        "  Got 12 results, configured to fail if != 0",
        Category.DATA_QUALITY,
    ),
    (
        "ERROR TaskSchedulerImpl: Lost executor 3 on 10.0.1.7: Container killed by YARN for exceeding memory limits.",
        Category.RESOURCE_EXHAUSTION,
    ),
]

# The wrapper's keywords point elsewhere; the wrapped cause must win.
WRAPPED = [
    (
        "broken_dag_around_missing_module",
        "Broken DAG: [/usr/local/airflow/dags/ingest.py] Traceback (most recent call last):\n"
        '  File "/usr/local/airflow/dags/ingest.py", line 3, in <module>\n'
        "    from airflow.providers.slack.operators.slack_webhook import SlackWebhookOperator\n"
        "ModuleNotFoundError: No module named 'airflow.providers.slack'",
        Category.DEPENDENCY_CONFLICT,
    ),
    (
        "airflow_task_around_snowflake_schema_error",
        "[2024-05-01, 10:00:00 UTC] {taskinstance.py:2905} ERROR - Task failed with exception\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.11/site-packages/snowflake/connector/cursor.py", line 1087, in execute\n'
        "snowflake.connector.errors.ProgrammingError: 000904 (42000): SQL compilation error:\n"
        "invalid identifier 'AMOUNT_USD'\n"
        "[2024-05-01, 10:00:01 UTC] {taskinstance.py:1206} INFO - Marking task as FAILED.",
        Category.SCHEMA_CHANGE,
    ),
    (
        "dbt_model_around_invalid_identifier",
        "Database Error in model stg_payments (models/staging/stg_payments.sql)\n"
        "  000904 (42000): SQL compilation error: error line 6 at position 7\n  invalid identifier 'LOAN_ID'",
        Category.SCHEMA_CHANGE,
    ),
    (
        "dbt_model_around_snowflake_auth_failure",
        "Database Error in model stg_payments (models/staging/stg_payments.sql)\n"
        "  250001 (08001): Failed to connect to DB: xy12345.snowflakecomputing.com:443. Incorrect username or "
        "password was specified.",
        Category.BAD_CREDENTIALS,
    ),
    (
        "broken_dag_around_missing_variable",
        "Broken DAG: [/opt/airflow/dags/loans.py] Traceback (most recent call last):\n"
        '  File "/opt/airflow/dags/loans.py", line 9, in <module>\n'
        "KeyError: 'Variable loans_bucket does not exist'",
        Category.CONFIG_SECRETS,
    ),
    (
        "terraform_state_lock_in_ci_job",
        "Error: Error acquiring the state lock\n\nError message: ConditionalCheckFailedException: The conditional "
        "request failed\nLock Info:\n  ID: 1c2e\nERROR: Job failed: exit code 1",
        Category.IAC_CHANGE,
    ),
    (
        "terraform_provider_inconsistency_after_timeout",
        "Error: timeout - last error: ssh: rejected: connect failed (Connection timed out)\n"
        "Error: Provider produced inconsistent result after apply",
        Category.IAC_CHANGE,
    ),
    (
        "terraform_expired_token_is_credentials_not_iac",
        "Error: error configuring Terraform AWS Provider: error validating provider credentials: api error "
        "ExpiredToken: The security token included in the request is expired\n"
        '  on main.tf line 20, in provider "aws":',
        Category.BAD_CREDENTIALS,
    ),
    (
        "docker_build_killed_is_memory_not_build",
        "error: failed to solve: executor failed running [/bin/sh -c pip install -r /tmp/requirements.txt]: "
        "exit code: 137",
        Category.RESOURCE_EXHAUSTION,
    ),
    (
        "chained_traceback_innermost_cause_wins",
        "Traceback (most recent call last):\n"
        '  File "/opt/airflow/dags/utils.py", line 4, in load\n'
        "KeyError: 'Variable env does not exist'\n\n"
        "The above exception was the direct cause of the following exception:\n\n"
        "Traceback (most recent call last):\n"
        '  File "/opt/airflow/dags/ingest.py", line 12, in <module>\n'
        "ModuleNotFoundError: No module named 'loans_config'",
        Category.CONFIG_SECRETS,
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), ONE_PER_CLASS, ids=[c.value for _, c in ONE_PER_CLASS]
)
def test_every_class_is_reachable(text: str, expected: Category) -> None:
    diagnosis = diagnose_text(text)
    assert diagnosis.category == expected, diagnosis.scores
    assert diagnosis.layer and diagnosis.evidence and 0 < diagnosis.confidence <= 1
    assert any(
        step.endswith(f"docs/runbooks/README.md#{expected.value}") for step in diagnosis.next_steps
    )


def test_every_class_is_covered_by_the_reachability_cases() -> None:
    assert {c for _, c in ONE_PER_CLASS} == set(ROOT_CAUSES)


@pytest.mark.parametrize(("name", "text", "expected"), WRAPPED, ids=[w[0] for w in WRAPPED])
def test_wrapped_failures_are_classified_by_root_cause(
    name: str, text: str, expected: Category
) -> None:
    assert diagnose_text(text).category == expected, diagnose_text(text).scores


def test_tail_lines_weigh_more_than_early_ones() -> None:
    # Two equally specific lines of different classes: the one nearer the end of the log decides.
    filler = "INFO - still working\n" * 200
    first, second = "ResourceNotFoundException", "Connection timed out"
    assert diagnose_text(f"{first}\n{filler}{second}").category == Category.WAREHOUSE_CONNECTIVITY
    assert diagnose_text(f"{second}\n{filler}{first}").category == Category.CONFIG_SECRETS


def test_context_breaks_ties() -> None:
    text = "ERROR: job failed while running step"
    assert diagnose_text(text, DiagnosisContext(failed_step="doctor:credentials")).category == (
        Category.BAD_CREDENTIALS
    )
    assert diagnose_text(
        text, DiagnosisContext(failed_step="promote:apply:airflow_dags")
    ).category == (Category.DAG_PARSE)
    assert diagnose_text(text, DiagnosisContext(drift_found=True)).category == Category.INFRA_DRIFT
    assert diagnose_text(text, DiagnosisContext(failed_checks=("soda:fct_loans",))).category == (
        Category.DATA_QUALITY
    )


def test_context_does_not_override_strong_evidence() -> None:
    text = "ModuleNotFoundError: No module named 'pandas_gbq'\nModuleNotFoundError: No module named 'x'"
    hinted = diagnose_text(text, DiagnosisContext(failed_step="validate:dags"))
    assert hinted.category == Category.DEPENDENCY_CONFLICT


def test_no_evidence_gives_low_confidence_and_says_so() -> None:
    diagnosis = diagnose_text("all good here\nnothing to see")
    assert diagnosis.confidence <= 0.1
    assert "No known error pattern" in diagnosis.next_steps[0]


def test_secrets_are_redacted_in_evidence() -> None:
    text = (
        "snowflake://loader:Sup3rS3cret@xy12345/analytics failed: Incorrect username or password was specified "
        "password=hunter2supersecret token: ghp_abcdefghijklmnopqrstuvwxyz012345 key AKIAABCDEFGHIJKLMNOP"
    )
    diagnosis = diagnose_text(text)
    assert diagnosis.category == Category.BAD_CREDENTIALS
    joined = " ".join(diagnosis.evidence)
    for secret in ("Sup3rS3cret", "hunter2supersecret", "ghp_abcdefghij", "AKIAABCDEFGHIJKLMNOP"):
        assert secret not in joined
    assert "Incorrect username or password" in joined


def test_redact_keeps_the_message_around_the_secret() -> None:
    assert (
        redact("login failed password=abc123 for user x") == "login failed password=**** for user x"
    )


def test_evidence_is_capped_and_diagnosis_is_frozen() -> None:
    diagnosis = diagnose_text("\n".join(f"No module named 'pkg{i}'" for i in range(20)))
    assert len(diagnosis.evidence) == 5
    with pytest.raises(ValidationError):
        diagnosis.category = Category.CI_PIPELINE  # type: ignore[misc]


def test_diagnose_file_reads_logs_with_binary_noise(tmp_path: Path) -> None:
    log = tmp_path / "task.log"
    log.write_bytes(b"\xff\xfe garbage\nNo space left on device\n")
    assert diagnose_file(log).category == Category.RESOURCE_EXHAUSTION


def test_prefilter_never_hides_a_matching_line() -> None:
    texts = (
        [t for t, _ in ONE_PER_CLASS] + [w[1] for w in WRAPPED] + [e.text for e in load_corpus()]
    )
    text = "\n".join(texts)
    indexes, lines = candidate_lines(text)
    matching = {
        i for i, line in enumerate(lines) if any(rule.pattern.search(line) for rule in RULES)
    }
    assert matching and matching <= set(indexes)


def test_every_rule_has_anchors_that_each_match_implies() -> None:
    for rule in RULES:
        assert rule.anchors, rule.pattern.pattern
    for example in load_corpus():
        for line in example.text.splitlines():
            for rule in RULES:
                if rule.pattern.search(line):
                    assert any(anchor in line.lower() for anchor in rule.anchors), (
                        rule.pattern.pattern,
                        line,
                    )


# Catalog rules: each written from the tool's documented error shape (see patterns.CATALOG_RULES).
CATALOG_CASES = [
    (
        "002003 (42S02): SQL compilation error:\nObject 'RAW.LOANS.PAYMENTS' does not exist or not authorized.",
        Category.SCHEMA_CHANGE,
    ),
    (
        "The source and target schemas on this incremental model are out of sync!",
        Category.SCHEMA_CHANGE,
    ),
    (
        "Version error for package dbt-labs/dbt_utils: Could not find a satisfactory version from options: ['=1.0.0']",
        Category.DEPENDENCY_CONFLICT,
    ),
    (
        "  × No solution found when resolving dependencies:\n  ╰─▶ Because you require numpy==1.26.4 and numpy>=2.1,"
        " we can conclude that your requirements are unsatisfiable.",
        Category.DEPENDENCY_CONFLICT,
    ),
    (
        "org.apache.kafka.common.errors.SerializationException: Unknown magic byte!",
        Category.SCHEMA_CHANGE,
    ),
    (
        "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
        Category.CONFIG_SECRETS,
    ),
    (
        "Error response from daemon: no matching manifest for linux/arm64/v8 in the manifest list entries",
        Category.CONTAINER_BUILD,
    ),
    ("Error: HttpError: Resource not accessible by integration", Category.CI_PIPELINE),
]


CATALOG_IDS = [f"{c.value}-{i}" for i, (_, c) in enumerate(CATALOG_CASES)]


@pytest.mark.parametrize(("text", "expected"), CATALOG_CASES, ids=CATALOG_IDS)
def test_catalog_rules_recognise_documented_error_shapes(text: str, expected: Category) -> None:
    diagnosis = diagnose_text(text)
    assert diagnosis.category == expected, diagnosis.scores


def test_a_404_after_terraform_refresh_is_drift_but_not_without_the_refresh() -> None:
    refresh = "aws_db_instance.ledger: Refreshing state... [id=ledger]\n"
    error = "Error: reading RDS DB Instance (ledger): DBInstanceNotFound: DBInstance ledger not found.\n"
    assert diagnose_text(refresh + error).category == Category.INFRA_DRIFT
    # The same sentence without the refresh (a data source lookup, a typo) is not drift by itself.
    assert diagnose_text("Error: DBInstance ledger not found.").category != Category.INFRA_DRIFT


def test_thin_or_split_evidence_is_unclassified_with_ranked_candidates_and_deciding_checks() -> (
    None
):
    # Two specific lines of two classes, near the end of the log: too close to call.
    split = "docker build failed\nConnection timed out\nResourceNotFoundException"
    diagnosis = diagnose_text(split)
    assert diagnosis.category == Category.UNCLASSIFIED
    assert diagnosis.layer == "unknown" and not diagnosis.rollback_recommended
    assert len(diagnosis.candidates) >= 2
    shares = [c.share for c in diagnosis.candidates]
    assert shares == sorted(shares, reverse=True) and all(0 < s <= 1 for s in shares)
    assert all(c.decide for c in diagnosis.candidates)
    assert any(step.startswith("To confirm") for step in diagnosis.next_steps)
    wrapper_only = diagnose_text("##[error]Process completed with exit code 1.")
    assert wrapper_only.category == Category.UNCLASSIFIED and wrapper_only.confidence < 0.35


def test_confidence_is_calibrated_and_bounded() -> None:
    strong = diagnose_text(
        "ERROR: ResolutionImpossible\nThe conflict is caused by: apache-airflow 2.10.5"
    )
    assert 0.8 <= strong.confidence <= 0.97
    assert diagnose_text("nothing to see").confidence == 0.0
