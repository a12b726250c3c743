"""The data diffs attached to a validation report appear in every renderer (issue 15, part 4)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from finsight_release.targets.data_diff import ColumnDiff, EnvironmentDiff, ModelDiff
from finsight_release.validate.report import (
    render_json,
    render_junit,
    render_markdown,
    render_text,
)
from finsight_release.validate.runner import ValidationReport


def diff(model: str, rows_new: int, violations: tuple[str, ...] = ()) -> ModelDiff:
    return ModelDiff(
        model=model,
        live_relation=f"{model}__aaaa",
        new_relation=f"{model}__bbbb",
        rows_live=600,
        rows_new=rows_new,
        keys_added=0,
        keys_removed=600 - rows_new,
        columns=(
            ColumnDiff(column="fee_usd", null_rate_live=0.0, null_rate_new=0.25),
            ColumnDiff(column="amount", null_rate_new=0.0, sum_live=1000.0, sum_new=900.0),
        ),
        violations=violations,
    )


REPORT = ValidationReport(
    env="prod",
    results=[],
    data_diffs=[
        EnvironmentDiff(environment="staging", diff=diff("fct_payments", 540)),
        EnvironmentDiff(
            environment="dev",
            diff=diff("agg_daily_payments", 0, ("rows changed 100.0% > 5%",)),
        ),
    ],
)


def test_text_and_markdown_show_each_changed_model() -> None:
    text = render_text(REPORT, width=200)
    assert "Data diff of changed models" in text
    assert "fct_payments" in text and "600 -> 540" in text and "+0 / -60" in text
    assert "fee_usd null 0.000->0.250" in text and "amount sum 1000->900" in text
    markdown = render_markdown(REPORT)
    assert "| staging | fct_payments | 600 -> 540 | +0 / -60 |" in markdown
    assert "| dev | agg_daily_payments | 600 -> 0 |" in markdown
    assert "BLOCKING: rows changed 100.0% > 5%" in markdown


def test_json_carries_the_diffs_and_reads_back() -> None:
    data = json.loads(render_json(REPORT))
    assert [d["diff"]["model"] for d in data["data_diffs"]] == [
        "fct_payments",
        "agg_daily_payments",
    ]
    assert ValidationReport.model_validate(data).data_diffs == REPORT.data_diffs


def test_junit_has_a_data_diff_suite_failing_on_a_blocking_diff() -> None:
    root = ET.fromstring(render_junit(REPORT))
    (suite,) = [s for s in root.iter("testsuite") if s.get("name") == "data_diff"]
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"staging/fct_payments", "dev/agg_daily_payments"}
    assert cases["dev/agg_daily_payments"].find("failure") is not None
    assert cases["staging/fct_payments"].find("failure") is None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    assert root.get("failures") == "1"


def test_a_report_without_diffs_renders_no_diff_section() -> None:
    plain = ValidationReport(env="prod", results=[])
    assert "Data diff" not in render_text(plain) and "Data diff" not in render_markdown(plain)
    assert "data_diff" not in render_junit(plain)
