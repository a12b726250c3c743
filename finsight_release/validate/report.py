"""Render a :class:`ValidationReport` as terminal text (rich), JSON, JUnit XML or GitHub Markdown.

Every renderer first passes messages and hints through :func:`redact`, so a check that quotes a line
carrying a credential still never prints the value (checks are told not to; this is the backstop).
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from finsight_release.targets.data_diff import EnvironmentDiff
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.runner import CheckResult, CheckStatus, ValidationReport
from finsight_release.validate.secrets.patterns import redact

SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "dim"}
MARKDOWN_MAX_ROWS = 200


def redact_finding(finding: Finding) -> Finding:
    """The finding with any credential-looking text in message or hint masked."""
    return finding.model_copy(
        update={
            "message": redact(finding.message),
            "hint": redact(finding.hint) if finding.hint else None,
        }
    )


def redacted(report: ValidationReport) -> ValidationReport:
    """A copy of the report whose findings are safe to print."""
    results = [
        result.model_copy(update={"findings": [redact_finding(f) for f in result.findings]})
        for result in report.results
    ]
    return report.model_copy(update={"results": results})


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(
        findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.artifact, f.file or "", f.line or 0)
    )


def location(finding: Finding) -> str:
    if finding.file and finding.line:
        return f"{finding.file}:{finding.line}"
    return finding.file or finding.artifact


def summary_line(report: ValidationReport) -> str:
    counts = report.counts
    ran = sum(1 for r in report.results if r.status is not CheckStatus.SKIPPED)
    cached = sum(1 for r in report.results if r.status is CheckStatus.CACHED)
    verdict = "PASSED" if report.passed else "FAILED"
    return (
        f"validation {verdict}: {counts['error']} errors, {counts['warning']} warnings, {counts['info']} info "
        f"from {ran} checks ({cached} cached) in {report.seconds:.1f}s"
    )


def column_notes(item: EnvironmentDiff) -> str:
    """The columns whose null rate rose or whose sum moved, e.g. ``fee_usd null 0.000->0.120``."""
    notes = []
    for col in item.diff.columns:
        if col.null_rate_live is not None and col.null_rate_new > col.null_rate_live:
            notes.append(f"{col.column} null {col.null_rate_live:.3f}->{col.null_rate_new:.3f}")
        if col.sum_live is not None and col.sum_new is not None and col.sum_new != col.sum_live:
            notes.append(f"{col.column} sum {col.sum_live:g}->{col.sum_new:g}")
    return ", ".join(notes) or "-"


def diff_rows(report: ValidationReport) -> list[tuple[str, str, str, str, str, str]]:
    """(environment, model, rows, keys, columns, verdict) per data diff attached to the report."""
    rows = []
    for item in report.data_diffs:
        diff = item.diff
        rows.append(
            (
                item.environment,
                diff.model,
                f"{diff.rows_live} -> {diff.rows_new}",
                diff.keys_change(),
                column_notes(item),
                diff.verdict(),
            )
        )
    return rows


def print_report(report: ValidationReport, console: Console, show_info: bool = False) -> None:
    """Print the human summary: findings table (errors first), per-check timings, verdict line."""
    safe = redacted(report)
    findings = [
        f for f in sorted_findings(safe.findings) if show_info or f.severity is not Severity.INFO
    ]
    if findings:
        table = Table(title="Findings", show_lines=False, expand=False)
        for column in ("severity", "check", "where", "message"):
            table.add_column(column, overflow="fold")
        for finding in findings:
            message = finding.message + (f"\nfix: {finding.hint}" if finding.hint else "")
            table.add_row(
                Text(finding.severity.value, style=SEVERITY_STYLE[finding.severity]),
                finding.check_id,
                location(finding),
                message,
            )
        console.print(table)
    timings = Table(title="Checks", expand=False)
    for column in ("check", "status", "artifacts", "seconds"):
        timings.add_column(column)
    for result in safe.results:
        timings.add_row(
            result.check_id,
            result.status.value,
            str(len(result.artifacts)),
            f"{result.seconds:.2f}",
        )
    console.print(timings)
    if report.data_diffs:
        diffs = Table(title="Data diff of changed models (new version vs live)", expand=False)
        for column in ("env", "model", "rows", "keys", "columns", "verdict"):
            diffs.add_column(column, overflow="fold")
        for row in diff_rows(report):
            diffs.add_row(*row)
        console.print(diffs)
    console.print(Text(summary_line(safe), style="bold green" if safe.passed else "bold red"))


def render_text(report: ValidationReport, show_info: bool = False, width: int = 120) -> str:
    """The human summary as plain text (no colour codes)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=False, color_system=None, soft_wrap=False
    )
    print_report(report, console, show_info=show_info)
    return buffer.getvalue()


def render_json(report: ValidationReport) -> str:
    """The report as JSON (findings, timings, counts, passed)."""
    return redacted(report).model_dump_json(indent=2)


def _testcase_artifacts(result: CheckResult) -> list[str]:
    names = list(result.artifacts)
    if result.status is not CheckStatus.CRASHED:
        names += sorted({f.artifact for f in result.findings if f.artifact not in names})
    return names


def _add_testcase(
    suite: ET.Element, result: CheckResult, artifact: str, seconds: float
) -> tuple[int, int]:
    case = ET.SubElement(
        suite, "testcase", classname=result.check_id, name=artifact, time=f"{seconds:.3f}"
    )
    if result.status is CheckStatus.CRASHED:
        crash = result.findings[-1]
        ET.SubElement(
            case, "error", message=crash.message, type=crash.check_id
        ).text = crash.message
        return 0, 1
    mine = [f for f in sorted_findings(result.findings) if f.artifact == artifact]
    errors = [f for f in mine if f.severity is Severity.ERROR]
    if errors:
        text = "\n".join(
            f"{location(f)}: [{f.check_id}] {f.message}" + (f" (fix: {f.hint})" if f.hint else "")
            for f in errors
        )
        ET.SubElement(
            case, "failure", message=f"{len(errors)} error(s): {errors[0].message}", type="error"
        ).text = text
    others = [f for f in mine if f.severity is not Severity.ERROR]
    if others:
        ET.SubElement(case, "system-out").text = "\n".join(str(f) for f in others)
    return (1 if errors else 0), 0


def render_junit(report: ValidationReport) -> str:
    """JUnit XML: one testsuite per check, one testcase per check x artifact, failures for errors."""
    safe = redacted(report)
    root = ET.Element("testsuites", name="finsight-release validate", time=f"{safe.seconds:.3f}")
    totals = [0, 0, 0]
    for result in safe.results:
        if result.status is CheckStatus.SKIPPED:
            continue
        suite = ET.SubElement(root, "testsuite", name=result.check_id, time=f"{result.seconds:.3f}")
        names = _testcase_artifacts(result) or ["-"]
        counts = [0, 0]
        for name in names:
            failed, errored = _add_testcase(suite, result, name, result.seconds / len(names))
            counts[0] += failed
            counts[1] += errored
        suite.set("tests", str(len(names)))
        suite.set("failures", str(counts[0]))
        suite.set("errors", str(counts[1]))
        totals = [totals[0] + len(names), totals[1] + counts[0], totals[2] + counts[1]]
    if safe.data_diffs:
        suite = ET.SubElement(root, "testsuite", name="data_diff", time="0.000")
        for item in safe.data_diffs:
            case = ET.SubElement(
                suite,
                "testcase",
                classname="data_diff",
                name=f"{item.environment}/{item.diff.model}",
            )
            if item.diff.blocking:
                ET.SubElement(
                    case, "failure", message=item.line(), type="data_diff"
                ).text = item.line()
            else:
                ET.SubElement(case, "system-out").text = item.line()
        blocked = sum(1 for item in safe.data_diffs if item.diff.blocking)
        suite.set("tests", str(len(safe.data_diffs)))
        suite.set("failures", str(blocked))
        suite.set("errors", "0")
        totals = [totals[0] + len(safe.data_diffs), totals[1] + blocked, totals[2]]
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", str(totals[2]))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _cell(text: str | None) -> str:
    return (
        (text or "")
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", "<br>")
    )


def render_markdown(report: ValidationReport) -> str:
    """GitHub-flavoured Markdown for ``$GITHUB_STEP_SUMMARY``: verdict, findings table, timings."""
    safe = redacted(report)
    counts = safe.counts
    icon = ":white_check_mark:" if safe.passed else ":x:"
    lines = [f"## {icon} {summary_line(safe)}", ""]
    lines.append(
        f"**{counts['error']}** errors · **{counts['warning']}** warnings · {counts['info']} info"
    )
    lines.append("")
    blocking = [f for f in sorted_findings(safe.findings) if f.severity is not Severity.INFO]
    if blocking:
        lines += ["| | Check | Where | Message | Fix |", "|---|---|---|---|---|"]
        for finding in blocking[:MARKDOWN_MAX_ROWS]:
            mark = ":x:" if finding.severity is Severity.ERROR else ":warning:"
            lines.append(
                f"| {mark} | `{finding.check_id}` | `{_cell(location(finding))}` | {_cell(finding.message)} "
                f"| {_cell(finding.hint)} |"
            )
        if len(blocking) > MARKDOWN_MAX_ROWS:
            lines.append(
                f"\n_{len(blocking) - MARKDOWN_MAX_ROWS} more findings not shown; see the JSON report._"
            )
        lines.append("")
    infos = [f for f in safe.findings if f.severity is Severity.INFO]
    if infos:
        lines += ["<details><summary>Info</summary>", ""]
        lines += [
            f"- `{f.check_id}` `{_cell(location(f))}`: {_cell(f.message)}"
            for f in infos[:MARKDOWN_MAX_ROWS]
        ]
        lines += ["", "</details>", ""]
    if safe.data_diffs:
        lines += [
            "### Data diff of changed models (new version vs live)",
            "",
            "| Env | Model | Rows | Keys | Columns | Verdict |",
            "|---|---|---|---|---|---|",
        ]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in diff_rows(safe)]
        lines.append("")
    lines += [
        "<details><summary>Checks</summary>",
        "",
        "| Check | Status | Artifacts | Seconds |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{r.check_id}` | {r.status.value} | {len(r.artifacts)} | {r.seconds:.2f} |"
        for r in safe.results
    ]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


RENDERERS: dict[str, Callable[[ValidationReport], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "markdown": render_markdown,
}


def write_report(report: ValidationReport, fmt: str, path: Path) -> None:
    """Render ``report`` as ``fmt`` into ``path`` atomically (a reader never sees half a report)."""
    text = RENDERERS[fmt](report)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
