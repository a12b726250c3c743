"""Terraform plan policy and drift on every real plan in tests/fixtures/terraform_plans/ (sources in its SOURCES.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from finsight_release.release.artifact import ArtifactKind, build_artifact
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.terraform.checks import (
    TerraformDriftCheck,
    TerraformPolicyCheck,
    check_plan_file,
    policy_findings,
)
from finsight_release.validate.terraform.plan import load_plan, parse_plan, plan_file_drift

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terraform_plans"

# file -> expected blocking/warning findings as (check id, severity, substring of the message).
# Anything not listed must not appear (terraform.summary INFO is always there and checked separately).
EXPECTED_POLICY: dict[str, set[tuple[str, Severity, str]]] = {
    "checkov__corrupted_tfplan_STATE_NOT_PLAN.json": {
        ("terraform.plan_invalid", Severity.ERROR, "this is a Terraform state"),
    },
    "hashicorp-terraform-json__invalid_MALFORMED.json": {
        ("terraform.plan_invalid", Severity.ERROR, "not valid JSON"),
    },
    "checkov__nested_child_modules_s3.json": {
        (
            "terraform.public_s3",
            Severity.ERROR,
            "module.s3_bucket.aws_s3_bucket_acl.this[0] sets acl public-read-write",
        ),
        (
            "terraform.public_s3",
            Severity.ERROR,
            "public access block disabled on module.s3_bucket.aws_s3_bucket_public",
        ),
    },
    "checkov__plan_with_deleted_resources.json": {
        (
            "terraform.stateful_replace",
            Severity.ERROR,
            "aws_secretsmanager_secret.default (aws_secretsmanager_secret) would be replaced",
        ),
    },
    "snyk-policy-engine__resource_changes_aws_delete_drift.json": {
        (
            "terraform.stateful_replace",
            Severity.ERROR,
            "aws_s3_bucket.delete_bucket (aws_s3_bucket) would be deleted",
        ),
        ("terraform.public_s3", Severity.ERROR, "aws_s3_bucket.update_bucket sets acl public-read"),
    },
    "terraform-compliance__issue_249_aws_alb_asg_update.json": {
        (
            "terraform.iam_wildcard",
            Severity.WARNING,
            "aws_iam_role_policy.lambda_role_policy allows cloudwatch:*",
        ),
        (
            "terraform.iam_wildcard",
            Severity.WARNING,
            "aws_iam_role_policy.myapp_instance_role_policy allows",
        ),
    },
    # Plans that replace or delete only non-stateful resources, or only create/update: clean.
    "checkov__github_oidc_trust_policy_tf1_5.json": set(),
    "checkov__plan_change_keys.json": set(),
    "hashicorp-terraform-json__action_reason.json": set(),
    "hashicorp-terraform-json__basic.json": set(),
    "hashicorp-terraform__equiv_drift_refresh_only.json": set(),
    "hashicorp-terraform__equiv_fully_populated_complex_destroy.json": set(),
    "hashicorp-terraform__equiv_local_provider_update.json": set(),
    "hashicorp-terraform__equiv_moved_with_drift.json": set(),
    "hashicorp-terraform__equiv_replace_within_set.json": set(),
    "hashicorp-terraform__show-json_basic-delete.json": set(),
    "hashicorp-terraform__show-json_drift.json": set(),
    "hashicorp-terraform__show-json_requires-replace.json": set(),
    "infracost__instance_with_attachment_after_deploy.json": set(),
    "infracost__plan_with_target.json": set(),
    "infracost__terraform_v0.14_plan.json": set(),
    "regula__issue355_aws_drift.json": set(),
    "terraform-compliance__issue_158_aws_vpc.json": set(),
    "terraform-compliance__issue_522_aws_delete_drift.json": set(),
    "terraform-compliance__issue_796_aws_tf1_14.json": set(),
    "terraform-compliance__module_api_gateway_23_aws.json": set(),
    "tf-summarize__example_drift.json": set(),
}

# file -> drifted addresses (from SOURCES.md's #drift column; issue_522's entries lack "address").
EXPECTED_DRIFT: dict[str, list[str]] = {
    "hashicorp-terraform__equiv_drift_refresh_only.json": ["tfcoremock_simple_resource.drift"],
    "hashicorp-terraform__equiv_moved_with_drift.json": ["tfcoremock_simple_resource.base_after"],
    "hashicorp-terraform__show-json_drift.json": ["test_instance.should_refresh"],
    "infracost__instance_with_attachment_after_deploy.json": [
        "aws_default_subnet.default",
        "aws_instance.ec2",
    ],
    "infracost__plan_with_target.json": ["aws_instance.web_app_1"],
    "regula__issue355_aws_drift.json": [
        "aws_cloudtrail.cloudtrail",
        "aws_s3_bucket.cloudtrail",
        "aws_s3_bucket.logging",
        "aws_s3_bucket_policy.cloudtrail",
    ],
    "snyk-policy-engine__resource_changes_aws_delete_drift.json": ["aws_s3_bucket.noop_bucket"],
    "tf-summarize__example_drift.json": [
        'module.github["terraform-plan-summary"].github_branch.demo',
        'module.github["terraform-plan-summary"].github_branch.main',
        'module.github["terraform-plan-summary"].github_repository.repository',
    ],
}
INVALID = {
    "checkov__corrupted_tfplan_STATE_NOT_PLAN.json",
    "hashicorp-terraform-json__invalid_MALFORMED.json",
}


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.name for p in FIXTURES.glob("*.json")}
    assert on_disk == set(EXPECTED_POLICY), "a fixture was added or removed: give it an expectation"


def _significant(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is not Severity.INFO]


@pytest.mark.parametrize("name", sorted(EXPECTED_POLICY))
def test_policy_findings_per_fixture(name: str) -> None:
    findings = check_plan_file(FIXTURES / name)
    significant = _significant(findings)
    expected = EXPECTED_POLICY[name]
    assert len(significant) == len(expected), [str(f) for f in significant]
    for check_id, severity, text in expected:
        assert any(
            f.check_id == check_id and f.severity is severity and text in f.message
            for f in significant
        ), f"missing {check_id} {severity} {text!r} in {[str(f) for f in significant]}"
    if name not in INVALID:
        summaries = [f for f in findings if f.check_id == "terraform.summary"]
        assert len(summaries) == 1 and summaries[0].message.startswith("plan (format ")


@pytest.mark.parametrize("name", sorted(set(EXPECTED_POLICY) - INVALID))
def test_drift_entries_per_fixture(name: str) -> None:
    drift = plan_file_drift(FIXTURES / name)
    if name == "terraform-compliance__issue_522_aws_delete_drift.json":
        assert len(drift) == 15
        assert sum("delete" in d.actions for d in drift) == 6
        assert all(d.address and "?" not in d.address for d in drift)  # rebuilt from type and name
        return
    assert [d.address for d in drift] == EXPECTED_DRIFT.get(name, [])


def test_summary_counts_replacements_in_both_orders() -> None:
    create_first = check_plan_file(FIXTURES / "checkov__plan_with_deleted_resources.json")
    delete_first = check_plan_file(
        FIXTURES / "hashicorp-terraform__show-json_requires-replace.json"
    )
    for findings in (create_first, delete_first):
        summary = next(f for f in findings if f.check_id == "terraform.summary")
        assert "1 replace" in summary.message


def test_stateful_error_points_at_the_line_of_the_resource() -> None:
    path = FIXTURES / "snyk-policy-engine__resource_changes_aws_delete_drift.json"
    finding = next(f for f in check_plan_file(path) if f.check_id == "terraform.stateful_replace")
    assert finding.line is not None
    assert '"aws_s3_bucket.delete_bucket"' in path.read_text().splitlines()[finding.line - 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]", "top level is a list"),
        ('{"format_version": "1.2", "hello": 1}', "none of the keys"),
        ("", "not valid JSON"),
    ],
)
def test_non_plans_are_rejected_with_a_clear_message(text: str, expected: str) -> None:
    with pytest.raises(Exception, match=expected):
        parse_plan(text)


def test_unknown_major_format_is_checked_best_effort() -> None:
    plan = parse_plan(
        '{"format_version": "2.0", "resource_changes": [{"type": "aws_s3_bucket"}, 5, {}]}'
    )
    assert plan.warnings and "2.0" in plan.warnings[0]
    assert len(plan.changes) == 2  # the non-object entry is skipped, missing keys tolerated


def _stack(platform: Path, fixture: str, approvals: str | None = None) -> Path:
    stack = platform / "release_assets" / "terraform" / "data_lake"
    stack.mkdir(parents=True)
    (stack / "main.tf").write_text('resource "aws_s3_bucket" "raw" {}\n')
    shutil.copy(FIXTURES / fixture, stack / "plan.json")
    if approvals is not None:
        (stack / "approved_replacements.yaml").write_text(approvals)
    return stack


def _run(
    check: TerraformPolicyCheck | TerraformDriftCheck, platform: Path, **options: str
) -> list[Finding]:
    stack = platform / "release_assets" / "terraform" / "data_lake"
    artifact = build_artifact(ArtifactKind.TERRAFORM_STACK, "terraform/data_lake", stack, platform)
    return check.run(ValidationContext(platform=platform, options=options), [artifact])


def test_stack_check_reads_plan_json_and_reports_the_artifact(tmp_path: Path) -> None:
    _stack(tmp_path, "snyk-policy-engine__resource_changes_aws_delete_drift.json")
    findings = _run(TerraformPolicyCheck(), tmp_path)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    assert {f.check_id for f in errors} == {"terraform.stateful_replace", "terraform.public_s3"}
    assert all(f.artifact == "terraform/data_lake" for f in findings)
    assert all(f.file == "release_assets/terraform/data_lake/plan.json" for f in findings)


def test_approval_file_allows_a_listed_replacement(tmp_path: Path) -> None:
    approvals = (
        "approved_replacements:\n"
        "  - address: aws_s3_bucket.delete_bucket\n    reason: moved to the lake stack\n    approved_by: jane\n"
        "  - aws_s3_bucket.gone_long_ago\n"
    )
    _stack(tmp_path, "snyk-policy-engine__resource_changes_aws_delete_drift.json", approvals)
    findings = _run(TerraformPolicyCheck(), tmp_path)
    assert not [f for f in findings if f.check_id == "terraform.stateful_replace"]
    approved = [f.message for f in findings if f.check_id == "terraform.approved"]
    assert any("approved: stateful resource aws_s3_bucket.delete_bucket" in m for m in approved)
    assert any("aws_s3_bucket.gone_long_ago is not used" in m for m in approved)
    # Approval covers stateful deletes only, never public buckets.
    assert any(
        f.check_id == "terraform.public_s3" and f.severity is Severity.ERROR for f in findings
    )


def test_approval_through_options(tmp_path: Path) -> None:
    _stack(tmp_path, "checkov__plan_with_deleted_resources.json")
    blocked = _run(TerraformPolicyCheck(), tmp_path)
    allowed = _run(
        TerraformPolicyCheck(),
        tmp_path,
        **{"terraform.approved_replacements": "aws_secretsmanager_secret.default"},
    )
    assert any(f.severity is Severity.ERROR for f in blocked)
    assert not any(f.severity is Severity.ERROR for f in allowed)


def test_malformed_approvals_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    _stack(
        tmp_path,
        "checkov__plan_with_deleted_resources.json",
        "approved_replacements: {not: a list}\n",
    )
    findings = _run(TerraformPolicyCheck(), tmp_path)
    assert [f.check_id for f in findings] == ["terraform.plan_invalid"]
    assert "must be a list" in findings[0].message


def test_stack_without_plan_is_a_warning(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "checkov__plan_change_keys.json")
    (stack / "plan.json").unlink()
    findings = _run(TerraformPolicyCheck(), tmp_path)
    assert [(f.check_id, f.severity) for f in findings] == [
        ("terraform.plan_missing", Severity.WARNING)
    ]
    assert _run(TerraformDriftCheck(), tmp_path) == []


def test_state_file_as_plan_is_one_error_and_no_drift_crash(tmp_path: Path) -> None:
    _stack(tmp_path, "checkov__corrupted_tfplan_STATE_NOT_PLAN.json")
    findings = _run(TerraformPolicyCheck(), tmp_path)
    assert [(f.check_id, f.severity) for f in findings] == [
        ("terraform.plan_invalid", Severity.ERROR)
    ]
    assert _run(TerraformDriftCheck(), tmp_path) == []


def test_drift_check_reports_warnings_with_lines(tmp_path: Path) -> None:
    _stack(tmp_path, "regula__issue355_aws_drift.json")
    findings = _run(TerraformDriftCheck(), tmp_path)
    assert len(findings) == 4
    assert all(f.check_id == "terraform.drift" and f.severity is Severity.WARNING for f in findings)
    assert any(
        "aws_s3_bucket_policy.cloudtrail was changed outside Terraform" in f.message
        for f in findings
    )
    assert all(f.line for f in findings)


def test_iam_wildcard_in_a_new_policy_is_an_error() -> None:
    policy = '{"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]}'
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "aws_iam_policy.etl",
                "type": "aws_iam_policy",
                "change": {"actions": ["create"], "after": {"policy": policy}},
            },
            {
                "address": "aws_s3_bucket_policy.p",
                "type": "aws_s3_bucket_policy",
                "change": {
                    "actions": ["update"],
                    "after": {
                        "policy": json.dumps(
                            {
                                "Statement": {
                                    "Effect": "Allow",
                                    "Principal": {"AWS": "*"},
                                    "Action": "s3:GetObject",
                                }
                            }
                        )
                    },
                },
            },
        ],
    }
    findings = _significant(policy_findings(parse_plan(json.dumps(plan)), "terraform/x", None))
    assert [(f.check_id, f.severity) for f in findings] == [
        ("terraform.iam_wildcard", Severity.ERROR),
        ("terraform.public_s3", Severity.ERROR),
    ]


def test_load_plan_of_unreadable_path_is_invalid_plan(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot read plan"):
        load_plan(tmp_path / "absent.json")
