"""Warehouse commands: the checks that judge a release (and ``resume``, the way out of the pause their
inconclusive results lead to), and the janitor that drops the relations no environment keeps."""

from __future__ import annotations

import click
from rich.table import Table

from finsight_release.cli.app import env_argument, handles_errors, main, open_system, out
from finsight_release.envs.environment import Environment


@main.command()
@click.option("--dry-run", is_flag=True, help="Only report what would be dropped.")
@handles_errors
def janitor(dry_run: bool) -> None:
    """Drop warehouse relations outside every environment's retention window (FINSIGHT_RETAIN_RELEASES)."""
    system = open_system()
    reports = system.janitor(dry_run=dry_run)
    table = Table(
        title=f"janitor (keep {system.settings.retain_releases} releases per environment)"
    )
    for col in ("env", "kept", "dropped" if not dry_run else "would drop"):
        table.add_column(col)
    for report in reports:
        table.add_row(
            str(report.environment), str(len(report.kept)), "\n".join(report.dropped) or "-"
        )
    out.print(table)


@main.command()
@env_argument
@click.option("--json", "as_json", is_flag=True, help="Print every result as JSON.")
@handles_errors
def checks(env: Environment, as_json: bool) -> None:
    """Judge the release ENV runs: dbt tests, Soda contracts, source freshness. Passed: the release
    becomes healthy in ENV (exit 0). A blocking failure marks it unhealthy (exit 1). Inconclusive (a
    check errored, data late): it stays pending and is judged again; after FINSIGHT_CHECK_ATTEMPTS
    such judgements the pipeline pauses for a person (exit 2)."""
    system = open_system()
    judgement = system.judge(env)
    if as_json:
        out.print_json(data=[r.model_dump() for r in judgement.results])
    else:
        for result in judgement.results:
            if not result.passed:
                out.print(result.line(), highlight=False)
        out.print(f"{judgement.verdict}: {judgement.summary()}", highlight=False)
        if (pause := system.pause_of(env)) is not None:
            out.print(f"{pause.environment} is paused: {pause.reason}", highlight=False)
    if judgement.verdict != "passed":
        raise SystemExit(1 if judgement.verdict == "failed" else 2)


@main.command()
@env_argument
@click.option("--reason", required=True, help="Why the pipeline may go on (audited).")
@handles_errors
def resume(env: Environment, reason: str) -> None:
    """Resume ENV's pipeline, paused because its release's checks stayed inconclusive."""
    system = open_system()
    cleared = system.resume(env, reason)
    out.print(
        f"{env} resumed by {cleared.actor}; the promotion sensors act on it again", highlight=False
    )
