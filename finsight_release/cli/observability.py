"""Observability commands: everything about one release (``logs``), what ran where at a past instant
(``as-of``) and how releases are going (``report``). Each calls one core function and renders it."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from finsight_release.cli.app import handles_errors, main, open_system, out
from finsight_release.envs.as_of import RanAt
from finsight_release.envs.environment import Environment


@main.command()
@click.argument("release_id")
@click.option(
    "--airflow-logs",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Airflow's base log folder (default: logs/ of the local Airflow home).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handles_errors
def logs(release_id: str, airflow_logs: Path | None, as_json: bool) -> None:
    """Everything recorded about RELEASE_ID: audit events, operations, Dagster runs, log lines, metrics
    and the Airflow task logs of runs that ran it."""
    trail = open_system().release_trail(release_id, airflow_logs)
    if as_json:
        click.echo(json.dumps(trail.as_dict(), default=str))
        return
    out.print(f"[bold]{release_id}[/bold]", highlight=False)
    out.print(f"operations: {', '.join(trail.operation_ids) or '-'}", highlight=False)
    out.print(f"dagster runs: {', '.join(trail.dagster_run_ids) or '-'}", highlight=False)
    table = Table(title="audit events")
    for col in ("seq", "ts", "action", "env", "outcome", "actor", "operation"):
        table.add_column(col)
    for event in trail.audit_events:
        table.add_row(
            str(event["seq"]),
            event["ts"][:19],
            event["action"],
            event["environment"] or "-",
            event["outcome"],
            event["actor"],
            event["details"].get("operation_id") or "",
        )
    out.print(table)
    out.print(f"log lines: {len(trail.log_lines)}, metric records: {len(trail.metric_records)}")
    for line in trail.log_lines:
        keys = ("timestamp", "level", "event", "environment", "operation_id", "step", "target")
        out.print(
            "  " + " ".join(str(line.get(k, "")) for k in keys if line.get(k)), highlight=False
        )
    out.print(f"task logs: {len(trail.task_logs)}")
    for path in trail.task_logs:
        out.print(f"  {path}", highlight=False)


@main.command("as-of")
@click.argument("timestamp")
@click.option(
    "--env", "env_names", multiple=True, help="Environment(s) to answer for (default: all)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per environment.")
@handles_errors
def as_of(timestamp: str, env_names: tuple[str, ...], as_json: bool) -> None:
    """What each environment ran at TIMESTAMP (ISO 8601, UTC unless a zone is given; within the
    90-day retention window): release, artifact digests, since when, who put it there, evidence."""
    envs = [Environment.parse(name) for name in env_names] or None
    render_ran_at(open_system().ran_at(timestamp, envs), as_json)


def render_ran_at(answers: list[RanAt], as_json: bool = False) -> None:
    """Print what each environment ran at an instant: a table and the digests, or JSON."""
    if as_json:
        click.echo(json.dumps([a.as_dict() for a in answers]))
        return
    table = Table(title=f"as of {answers[0].at.isoformat()}")
    for col in ("env", "release", "since", "by", "operation", "audit event"):
        table.add_column(col, no_wrap=col == "release")
    for a in answers:
        event = a.evidence
        table.add_row(
            str(a.environment),
            a.release_id or "(nothing deployed)",
            a.since.isoformat(timespec="seconds") if a.since else "-",
            a.actor or "-",
            f"{a.operation} {a.operation_id}" if a.operation_id else (a.operation or "-"),
            "-"
            if not event
            else f"pruned, in {event['pruned_to']}"
            if "pruned_to" in event
            else f"seq {event['seq']} ({event['hash'][:12]})",
        )
    out.print(table)
    for a in answers:
        if a.digests:
            out.print(f"[bold]{a.environment}[/bold] digests:", highlight=False)
            for name, digest in sorted(a.digests.items()):
                out.print(f"  {name} {digest[:16]}", highlight=False)


@main.command()
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("finsight-report.html"),
    show_default=True,
    help="Where to write the HTML page.",
)
@click.option(
    "--emit-metrics", is_flag=True, help="Also write the DORA metrics as CloudWatch EMF records."
)
@click.option("--json", "as_json", is_flag=True, help="Print the DORA weeks as JSON.")
@handles_errors
def report(out_path: Path, emit_metrics: bool, as_json: bool) -> None:
    """Write a self-contained HTML report: release timeline per environment, DORA metrics per week
    (deployment frequency, lead time, change failure rate, time to restore), slowest steps."""
    dora = open_system().write_release_report(out_path, emit=emit_metrics)
    if as_json:
        click.echo(json.dumps([w.as_dict() for w in dora.weeks]))
        return
    out.print(
        f"report written to {out_path}: {len(dora.deployments)} deployments, "
        f"{len(dora.weeks)} environment-weeks",
        highlight=False,
        soft_wrap=True,
    )
