"""Report renderers: terminal text, JSON, JUnit XML, GitHub Markdown; none ever prints a secret."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.report import render_json, render_junit, render_markdown, render_text
from finsight_release.validate.runner import CheckResult, CheckStatus, ValidationReport

LEAKED = "AKIA" + "QX7TZ3MBN4KD2WPL"  # assembled so this file holds no credential


@pytest.fixture
def report() -> ValidationReport:
    return ValidationReport(
        env="staging",
        seconds=1.5,
        results=[
            CheckResult(
                check_id="terraform.policy",
                status=CheckStatus.RAN,
                artifacts=["terraform/data_lake", "terraform/network"],
                seconds=0.4,
                findings=[
                    Finding(
                        check_id="terraform.stateful_replace",
                        severity=Severity.ERROR,
                        artifact="terraform/data_lake",
                        file="release_assets/terraform/data_lake/plan.json",
                        line=387,
                        message="stateful resource aws_s3_bucket.raw (aws_s3_bucket) would be deleted | really",
                        hint="approve it",
                    ),
                    Finding(
                        check_id="terraform.summary",
                        severity=Severity.INFO,
                        artifact="terraform/network",
                        message="plan (format 1.2): 1 create",
                    ),
                ],
            ),
            CheckResult(
                check_id="demo.leaky",
                status=CheckStatus.RAN,
                artifacts=["config/dev"],
                findings=[
                    Finding(
                        check_id="demo.leaky",
                        severity=Severity.WARNING,
                        artifact="config/dev",
                        message=f"connection failed for key {LEAKED}",
                    )
                ],
            ),
            CheckResult(
                check_id="demo.crash",
                status=CheckStatus.CRASHED,
                artifacts=["config/dev"],
                findings=[
                    Finding(
                        check_id="internal.demo.crash",
                        severity=Severity.ERROR,
                        artifact="config/dev",
                        message="check demo.crash crashed: ValueError: boom",
                    )
                ],
            ),
            CheckResult(
                check_id="streaming.compatibility", status=CheckStatus.SKIPPED, artifacts=[]
            ),
        ],
    )


def test_text_lists_errors_first_with_location_and_verdict(report: ValidationReport) -> None:
    text = render_text(report, width=200)
    assert "release_assets/terraform/data_lake/plan.json:387" in text
    assert text.index("terraform.stateful_replace") < text.index("demo.leaky")
    assert "validation FAILED: 2 errors, 1 warnings, 1 info" in text
    assert "plan (format 1.2)" not in text  # info hidden unless asked
    assert "plan (format 1.2)" in render_text(report, show_info=True, width=200)
    assert LEAKED not in text


def test_json_has_counts_passed_and_no_secret(report: ValidationReport) -> None:
    raw = render_json(report)
    data = json.loads(raw)
    assert data["passed"] is False
    assert data["counts"] == {"error": 2, "warning": 1, "info": 1}
    assert {t["check_id"] for t in data["timings"]} >= {"terraform.policy", "demo.crash"}
    assert LEAKED not in raw and "AKIA********" in raw


def test_junit_has_one_testcase_per_check_and_artifact(report: ValidationReport) -> None:
    root = ET.fromstring(render_junit(report))
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert set(cases) == {
        ("terraform.policy", "terraform/data_lake"),
        ("terraform.policy", "terraform/network"),
        ("demo.leaky", "config/dev"),
        ("demo.crash", "config/dev"),
    }
    failure = cases[("terraform.policy", "terraform/data_lake")].find("failure")
    assert failure is not None and "plan.json:387" in (failure.text or "")
    assert cases[("terraform.policy", "terraform/network")].find("failure") is None
    assert cases[("demo.crash", "config/dev")].find("error") is not None
    assert cases[("demo.leaky", "config/dev")].find("failure") is None  # warnings do not fail
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "1")
    assert LEAKED not in render_junit(report)


def test_markdown_is_a_github_summary(report: ValidationReport) -> None:
    markdown = render_markdown(report)
    assert markdown.startswith("## :x: validation FAILED")
    row = next(line for line in markdown.splitlines() if "terraform.stateful_replace" in line)
    assert "would be deleted \\| really" in row  # a pipe in a message does not break the table
    assert row.count(" | ") >= 4
    assert "<details><summary>Checks</summary>" in markdown
    assert LEAKED not in markdown


def test_a_clean_report_passes() -> None:
    clean = ValidationReport(
        results=[CheckResult(check_id="secrets.scan", status=CheckStatus.CACHED, artifacts=["a"])]
    )
    assert clean.passed
    assert render_markdown(clean).startswith("## :white_check_mark: validation PASSED")
    assert ET.fromstring(render_junit(clean)).get("failures") == "0"
