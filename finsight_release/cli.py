"""``finsight-release``: build, validate, promote, roll back, inspect and diagnose releases.

Every command runs the plain-Python core directly (no Dagster daemon needed). Errors print one red
line and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from finsight_release.envs.environment import Environment
from finsight_release.errors import FinsightError
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem

console = Console(stderr=True)
out = Console()


def _system(platform: Path | None = None) -> ReleaseSystem:
    overrides: dict[str, Any] = {"platform": platform.resolve()} if platform else {}
    return ReleaseSystem(load_settings(**overrides))


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn FinsightError (and unexpected errors) into one red line and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return fn(*args, **kwargs)
        except FinsightError as exc:
            if debug:
                console.print_exception()
            console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except Exception as exc:  # noqa: BLE001 - the CLI's contract: one line, non-zero exit
            if debug:
                console.print_exception()
            first = (str(exc).strip().splitlines() or [""])[0]
            console.print(
                f"[red]error:[/red] {type(exc).__name__}: {first} (--debug for the traceback)",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(1)

    return wrapper


platform_option = click.option(
    "--platform",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Platform tree to read (default: FINSIGHT_PLATFORM or this repository's reference platform).",
)


def _parse_env(_ctx: click.Context, _param: click.Parameter, value: str) -> Environment:
    try:
        return Environment.parse(value)
    except FinsightError as exc:
        raise click.BadParameter(str(exc)) from None


env_argument = click.argument("env", callback=_parse_env)


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def main(debug: bool) -> None:
    """Safe, audited releases of the FinSight data platform."""
    from finsight_release.observe.logging import configure_logging

    settings = load_settings()
    if settings.is_aws:
        configure_logging()  # stderr, collected by CloudWatch
    else:
        log_file = settings.home / "logs" / "finsight-release.jsonl"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        configure_logging(log_file.open("a", buffering=1))


@main.command()
@platform_option
@click.option("--base-env", default="prod", help="Environment whose current release the change set is against.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@handles_errors
def build(platform: Path | None, base_env: str, as_json: bool) -> None:
    """Build (or find) the content-addressed release of a platform tree."""
    system = _system(platform)
    with console.status("hashing the platform tree..."):
        manifest, created = system.build(platform, Environment.parse(base_env), progress=console.log)
    if as_json:
        out.print_json(manifest.model_dump_json())
        return
    verb = "built" if created else "unchanged, already built"
    out.print(f"{manifest.release_id} {verb}: {len(manifest.artifacts)} artifacts, git {manifest.git_sha or '-'}")
    if manifest.change_set:
        out.print(f"change set vs {manifest.change_set.base_release}: {manifest.change_set.summary()}")
        if manifest.change_set.is_slow_path:
            out.print("[yellow]slow path:[/yellow] requirements/plugins changed (MWAA environment update ~20 min)")


@main.command()
@env_argument
@click.argument("release_id")
@click.option(
    "--emergency-override",
    "override",
    default=None,
    metavar="REASON",
    help="Skip the promotion-order gate; the reason is written to the audit log.",
)
@handles_errors
def promote(env: Environment, release_id: str, override: str | None) -> None:
    """Promote RELEASE_ID to ENV (dev, staging, prod)."""
    system = _system()
    with console.status(f"promoting {release_id} to {env}..."):
        record = system.deployer.promote(env, release_id, override_reason=override)
    out.print(
        f"{env}: {record.to_release} {record.state} ({record.id}, {record.seconds:.2f}s) {record.change_set.summary()}"
    )


@main.command()
@env_argument
@click.option("--to", "to_release", default=None, help="Release to return to (default: the previous one).")
@handles_errors
def rollback(env: Environment, to_release: str | None) -> None:
    """Roll ENV back to the release it ran before (no rebuild)."""
    system = _system()
    with console.status(f"rolling back {env}..."):
        record = system.deployer.rollback(env, to_release)
    if record.kind != "rollback":  # it took over a crashed operation and undid it
        out.print(f"{env}: undid {record.kind} {record.id} of {record.to_release}; back on {record.from_release}")
        return
    out.print(f"{env}: rolled back to {record.to_release} ({record.id}, {record.seconds:.2f}s)")


@main.command()
@env_argument
@click.option("--abort", "decision", flag_value="abort", help="Return every target to the previous release.")
@click.option("--resume", "decision", flag_value="resume", help="Finish the operation.")
@click.option("--reason", required=True, help="Why (written to the audit log with FINSIGHT_ACTOR).")
@handles_errors
def resolve(env: Environment, decision: str | None, reason: str) -> None:
    """Take over ENV's crashed or stuck promotion or rollback: --abort or --resume it."""
    if decision is None:
        raise click.UsageError("give --abort (back to the previous release) or --resume (finish it)")
    system = _system()
    with console.status(f"resolving {env} ({decision})..."):
        record = system.deployer.resolve(env, decision, reason)  # type: ignore[arg-type]
    runs = system.board.read(env)[0].release_id
    out.print(f"{env}: {record.id} {record.kind} {record.state} ({decision}); {env} runs {runs}")


@main.command()
@click.option("--history/--no-history", default=True, help="Show each environment's pointer history.")
@handles_errors
def status(history: bool) -> None:
    """What each environment runs now, with its history."""
    system = _system()
    table = Table(title="environments")
    for col in ("env", "seq", "release", "since", "by", "operation", "in flight"):
        table.add_column(col, no_wrap=col == "release", min_width=18 if col == "release" else None)
    for env, (pointer, entries) in system.status().items():
        table.add_row(
            str(env),
            str(pointer.seq),
            pointer.release_id or "-",
            f"{pointer.updated_at:%Y-%m-%d %H:%M:%S}",
            pointer.actor,
            pointer.operation,
            pointer.pending or "",
        )
        if history:
            for entry in reversed(entries[:-1] if entries else []):
                table.add_row(
                    "",
                    str(entry.seq),
                    f"[dim]{entry.release_id}[/dim]",
                    f"[dim]{entry.updated_at:%Y-%m-%d %H:%M:%S}[/dim]",
                    entry.actor,
                    entry.operation,
                    "",
                )
    out.print(table)


@main.group()
def audit() -> None:
    """The SOX audit trail."""


@audit.command("verify")
@handles_errors
def audit_verify() -> None:
    """Verify the audit hash chain; names the first bad event."""
    from finsight_release.audit.verify import verify_chain

    system = _system()
    result = verify_chain(system.audit)
    if not result.ok:
        console.print(f"[red]audit chain broken:[/red] {result.message}", highlight=False, soft_wrap=True)
        sys.exit(2)
    out.print(f"audit chain ok: {result.checked} events verified")


@main.command()
@platform_option
@click.option("--env", "env_name", default="dev", show_default=True, help="Target environment (its config and base).")
@click.option(
    "--base", default="auto", show_default=True, help="Base release id, 'auto' (what ENV runs now) or 'none'."
)
@click.option("--all", "validate_all", is_flag=True, help="Validate every artifact, not only the changed ones.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "junit", "markdown"]), default="text", show_default=True
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the report here (default: stdout).",
)
@click.option("--workers", type=int, default=2, show_default=True, help="Parallel checks and DAG parsers.")
@handles_errors
def validate(
    platform: Path | None, env_name: str, base: str, validate_all: bool, fmt: str, output: Path | None, workers: int
) -> None:
    """Pre-deploy validation of a platform tree; exits 1 on any error finding."""
    from finsight_release.validate.report import (
        print_report,
        render_json,
        render_junit,
        render_markdown,
        render_text,
    )

    system = _system(platform)
    env = Environment.parse(env_name)
    with console.status("validating...") as status:
        report, verdict, _ = system.validate(
            env,
            None,
            None if base == "none" else base,
            validate_all,
            workers,
            progress=lambda event: status.update(f"validating: {event}"),
        )
    if fmt == "text" and output is None:
        print_report(report, out)
    else:
        text = {"text": render_text, "json": render_json, "junit": render_junit, "markdown": render_markdown}[fmt](
            report
        )
        if output:
            output.write_text(text)
            out.print(f"report written to {output}")
        else:
            click.echo(text)
    console.print(f"verdict for {verdict.release_id} in {env}: {'passed' if verdict.passed else 'failed'}")
    sys.exit(0 if report.passed else 1)


@main.command()
@click.option("--env", "env_name", default="prod", show_default=True, help="Environment to examine.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@handles_errors
def doctor(env_name: str, as_json: bool) -> None:
    """Probe ENV layer by layer and stop at the first failing layer, with its diagnosis."""
    system = _system()
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
                layer.layer, f"[{colors[layer.status]}]{layer.status}[/]", f"{layer.seconds:.2f}", layer.detail
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
@click.option("--step", default=None, help="The step that failed (e.g. doctor:dags, validate:deps, build).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handles_errors
def diagnose(evidence: str, step: str | None, as_json: bool) -> None:
    """Name the root cause of a failure from EVIDENCE: a log file, a Dagster run id, a release id, or '-' (stdin).

    For a release id, what the release changed against the last good release (change set and lock diff of
    pinned dependency versions) is evidence too.
    """
    from finsight_release.diagnose.classifier import DiagnosisContext, diagnose_file, diagnose_stream, diagnose_text
    from finsight_release.diagnose.release_context import release_evidence

    system = _system()
    if evidence == "-":
        diagnosis = diagnose_stream(sys.stdin.buffer, DiagnosisContext(failed_step=step))
    elif Path(evidence).is_file():
        diagnosis = diagnose_file(Path(evidence), DiagnosisContext(failed_step=step))
    elif evidence.startswith("r-"):
        failures = [e for e in system.audit.events(release_id=evidence) if e["outcome"] in {"failed", "refused"}]
        if not failures:
            raise FinsightError(f"release {evidence} has no failed or refused operation in the audit log")
        text = "\n".join(str(e["details"].get("error") or e["details"].get("reason") or "") for e in failures)
        context = DiagnosisContext(failed_step=step, release=release_evidence(system, evidence))
        diagnosis = diagnose_text(text, context)
    elif re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", evidence):
        diagnosis = diagnose_text(_dagster_run_text(evidence), DiagnosisContext(failed_step=step))
    else:
        raise FinsightError(f"evidence {evidence!r} is neither a file, a Dagster run id, a release id (r-...) nor '-'")
    system.audit.append(
        actor=system.settings.actor,
        action="diagnose",
        release_id=evidence if evidence.startswith("r-") else None,
        outcome=str(diagnosis.category),
        details={"confidence": diagnosis.confidence, "step": step, "explanation": diagnosis.explanation},
    )
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
@click.option("--env", "env_name", required=True, help="Environment the plan was refreshed against.")
@click.argument("plan", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@handles_errors
def drift_ingest(env_name: str, plan: Path) -> None:
    """Record PLAN (`terraform show -json` of a `plan -refresh-only`) as ENV's latest drift scan."""
    env = Environment.parse(env_name)
    entries = _system().ingest_drift(env, plan)
    out.print(f"{env}: {len(entries)} drifted resources recorded" + "".join(f"\n  {e.describe()}" for e in entries))


@main.command()
@click.option("--keep", is_flag=True, help="Keep the existing state instead of starting from a clean home.")
@handles_errors
def demo(keep: bool) -> None:
    """The end-to-end demo on the embedded defaults (no cloud access needed)."""
    from finsight_release.demo import run_demo

    run_demo(_system(), console=out, fresh=not keep)


if __name__ == "__main__":
    main()
