"""Evidence commands: verify the audit chain, probe an environment (doctor), diagnose a failure and
record infrastructure drift. Each calls one core operation, which also writes its audit event."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from finsight_release.cli.app import console, handles_errors, main, open_system, out
from finsight_release.envs.environment import Environment
from finsight_release.errors import FinsightError


@main.group()
def audit() -> None:
    """The SOX audit trail."""


@audit.command("verify")
@handles_errors
def audit_verify() -> None:
    """Verify the audit hash chain; names the first bad event."""
    from finsight_release.audit.verify import verify_chain

    system = open_system()
    result = verify_chain(system.audit)
    if not result.ok:
        console.print(
            f"[red]audit chain broken:[/red] {result.message}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    out.print(f"audit chain ok: {result.checked} events verified")
    if result.first_seq > 1:
        out.print(f"events before seq {result.first_seq} pruned; the chain starts at their anchor")


@audit.command("prune")
@click.option(
    "--retention-days",
    type=int,
    default=90,
    show_default=True,
    help="Keep events newer than this many days (at least 90, SOX).",
)
@click.option(
    "--archive",
    default=None,
    help="Where the pruned events are exported first: a directory or s3://BUCKET/PREFIX (Object "
    "Lock); default $FINSIGHT_AUDIT_ARCHIVE, else $FINSIGHT_HOME/audit-archive.",
)
@click.option("--dry-run", is_flag=True, help="Only count the events a prune would remove.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@handles_errors
def audit_prune(retention_days: int, archive: str | None, dry_run: bool, as_json: bool) -> None:
    """Export, anchor, then delete the audit events older than the retention."""
    result = open_system().prune_audit(retention_days, archive, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    elif dry_run:
        out.print(f"would prune {result.pruned} events stamped before {result.cutoff.isoformat()}")
    elif not result.pruned:
        out.print(f"nothing to prune: no event before {result.cutoff.isoformat()}")
    else:
        assert result.anchor is not None
        out.print(
            f"pruned {result.pruned} events stamped before {result.cutoff.isoformat()}; "
            f"exported to {result.export}; the chain now starts at seq {result.anchor.first_seq} "
            f"(anchored {result.anchor.prev_hash[:12]})"
        )


@main.command()
@click.option(
    "--env", "env_name", default="prod", show_default=True, help="Environment to examine."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@handles_errors
def doctor(env_name: str, as_json: bool) -> None:
    """Probe ENV layer by layer and stop at the first failing layer, with its diagnosis."""
    system = open_system()
    env = Environment.parse(env_name)
    with console.status("doctor...") as status:
        report = system.doctor(env, progress=lambda layer: status.update(f"doctor: {layer}"))
    failed_layer = report.failed_layer
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        table = Table(title=f"doctor: {env}")
        for col in ("layer", "status", "seconds", "detail"):
            table.add_column(col)
        colors = {"ok": "green", "failed": "red", "skipped": "dim"}
        for layer in report.layers:
            table.add_row(
                layer.layer,
                f"[{colors[layer.status]}]{layer.status}[/]",
                f"{layer.seconds:.2f}",
                layer.detail,
            )
        out.print(table)
        if report.diagnosis is not None:
            d = report.diagnosis
            out.print(
                f"[red]{failed_layer.layer if failed_layer else ''} failed:[/red] {d.category} "
                f"(confidence {d.confidence:.2f}); rollback recommended: {d.rollback_recommended}"
            )
            for step in d.next_steps:
                out.print(f"  - {step}")
    sys.exit(0 if report.ok else 1)


@main.command()
@click.argument("evidence")
@click.option(
    "--step", default=None, help="The step that failed (e.g. doctor:dags, validate:deps, build)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handles_errors
def diagnose(evidence: str, step: str | None, as_json: bool) -> None:
    """Name the root cause of a failure from EVIDENCE: a log file, a Dagster run id, a release id, or '-' (stdin).

    For a release id, what the release changed against the last good release (change set and lock diff of
    pinned dependency versions) is evidence too.
    """
    stdin = sys.stdin.buffer if evidence == "-" else None
    diagnosis = open_system().diagnose(evidence, step, stdin=stdin, run_text=_dagster_run_text)
    if as_json:
        click.echo(diagnosis.model_dump_json())
        return
    out.print(
        f"[bold]{diagnosis.category}[/bold] (layer {diagnosis.layer}, confidence {diagnosis.confidence:.2f}, "
        f"rollback recommended: {diagnosis.rollback_recommended})"
    )
    for line in diagnosis.evidence:
        out.print(f"  evidence: {line}", highlight=False)
    for candidate in diagnosis.candidates if str(diagnosis.category) == "unclassified" else []:
        out.print(f"  candidate: {candidate.category} ({candidate.share:.0%})", highlight=False)
    for step_text in diagnosis.next_steps:
        out.print(f"  next: {step_text}", highlight=False)
    for note in diagnosis.notes:
        out.print(f"  note: {note}", highlight=False)


def _dagster_run_text(run_id: str) -> str:
    """A stored Dagster run's failure output, read from the instance at DAGSTER_HOME."""
    import dagster as dg  # noqa: TID251 - the CLI is an entry point; the core stays dagster-free

    from finsight_release.automation.sensors import run_failure_text

    with dg.DagsterInstance.get() as instance:
        text = run_failure_text(instance, run_id)
    if text is None:
        raise FinsightError(f"no Dagster run {run_id} in the instance at DAGSTER_HOME")
    return text


@main.group()
def drift() -> None:
    """Infrastructure drift evidence."""


@drift.command("ingest")
@click.option(
    "--env", "env_name", required=True, help="Environment the plan was refreshed against."
)
@click.argument("plan", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@handles_errors
def drift_ingest(env_name: str, plan: Path) -> None:
    """Record PLAN (`terraform show -json` of a `plan -refresh-only`) as ENV's latest drift scan."""
    env = Environment.parse(env_name)
    entries = open_system().ingest_drift(env, plan)
    out.print(
        f"{env}: {len(entries)} drifted resources recorded"
        + "".join(f"\n  {e.describe()}" for e in entries)
    )
