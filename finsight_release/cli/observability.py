"""Observability commands: everything about one release (``logs``), what ran where at a past instant
(``as-of``) and how releases are going (``report``). Each calls one core function and renders it."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from finsight_release.cli.app import handles_errors, main, open_system, out


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
