"""Release commands: build a release, promote it, roll an environment back, resolve a stuck operation,
and show what each environment runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

import click
from rich.table import Table

from finsight_release.cli.app import (
    console,
    env_argument,
    handles_errors,
    main,
    open_system,
    out,
    platform_option,
)
from finsight_release.envs.environment import Environment


@main.command()
@platform_option
@click.option(
    "--base-env",
    default="prod",
    help="Environment whose current release the change set is against.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@handles_errors
def build(platform: Path | None, base_env: str, as_json: bool) -> None:
    """Build (or find) the content-addressed release of a platform tree."""
    system = open_system(platform)
    with console.status("hashing the platform tree..."):
        manifest, created = system.build(
            platform, Environment.parse(base_env), progress=console.log
        )
    if as_json:
        out.print_json(manifest.model_dump_json())
        return
    verb = "built" if created else "unchanged, already built"
    out.print(
        f"{manifest.release_id} {verb}: {len(manifest.artifacts)} artifacts, git {manifest.git_sha or '-'}"
    )
    if manifest.change_set:
        out.print(
            f"change set vs {manifest.change_set.base_release}: {manifest.change_set.summary()}"
        )
        if manifest.change_set.is_slow_path:
            out.print(
                "[yellow]slow path:[/yellow] requirements/plugins changed (MWAA environment update ~20 min)"
            )


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
@click.option(
    "--canary",
    default="",
    metavar="DAG_ID[,..]",
    help="Deploy these changed DAGs first; the rest follows once their smoke runs succeed.",
)
@handles_errors
def promote(env: Environment, release_id: str, override: str | None, canary: str) -> None:
    """Promote RELEASE_ID to ENV (dev, staging, prod)."""
    system = open_system()
    canary_dags = tuple(d.strip() for d in canary.split(",") if d.strip())
    with console.status(f"promoting {release_id} to {env}..."):
        record = system.promote(env, release_id, override_reason=override, canary=canary_dags)
    out.print(
        f"{env}: {record.to_release} {record.state} ({record.id}, {record.seconds:.2f}s) {record.change_set.summary()}"
    )


@main.command()
@env_argument
@click.option(
    "--to", "to_release", default=None, help="Release to return to (default: the previous one)."
)
@handles_errors
def rollback(env: Environment, to_release: str | None) -> None:
    """Roll ENV back to the release it ran before (no rebuild)."""
    system = open_system()
    with console.status(f"rolling back {env}..."):
        record = system.rollback(env, to_release)
    if record.kind != "rollback":  # it took over a crashed operation and undid it
        out.print(
            f"{env}: undid {record.kind} {record.id} of {record.to_release}; back on {record.from_release}"
        )
        return
    out.print(f"{env}: rolled back to {record.to_release} ({record.id}, {record.seconds:.2f}s)")
    refresh = system.warehouse_target.refresh_status(env)
    if refresh and refresh.get("release") == record.to_release and refresh["state"] != "done":
        out.print(refresh_line(env, refresh), highlight=False)


@main.command()
@env_argument
@click.option(
    "--abort", "decision", flag_value="abort", help="Return every target to the previous release."
)
@click.option("--resume", "decision", flag_value="resume", help="Finish the operation.")
@click.option("--reason", required=True, help="Why (written to the audit log with FINSIGHT_ACTOR).")
@handles_errors
def resolve(env: Environment, decision: str | None, reason: str) -> None:
    """Take over ENV's crashed or stuck promotion or rollback: --abort or --resume it."""
    if decision is None:
        raise click.UsageError(
            "give --abort (back to the previous release) or --resume (finish it)"
        )
    system = open_system()
    with console.status(f"resolving {env} ({decision})..."):
        record = system.resolve(env, cast(Literal["abort", "resume"], decision), reason)
    runs = system.board.read(env)[0].release_id
    out.print(f"{env}: {record.id} {record.kind} {record.state} ({decision}); {env} runs {runs}")


@main.command()
@click.option(
    "--history/--no-history", default=True, help="Show each environment's pointer history."
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="TIMESTAMP",
    help="What each environment ran at this past instant instead (same as `as-of TIMESTAMP`).",
)
@handles_errors
def status(history: bool, as_of: str | None) -> None:
    """What each environment runs now, with its history (or what it ran at --as-of TIMESTAMP)."""
    system = open_system()
    if as_of is not None:
        from finsight_release.cli.observability import render_ran_at

        render_ran_at(system.ran_at(as_of))
        return
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
    for env in system.status():
        refresh = system.warehouse_target.refresh_status(env)
        if refresh:
            out.print(refresh_line(env, refresh), highlight=False)


def refresh_line(env: Environment, refresh: dict[str, Any]) -> str:
    """One line on ``env``'s last background refresh: what, since or until when, data as of when."""
    names = ", ".join(r["model"] for r in refresh["relations"])
    as_of = min(str(r["as_of"]) for r in refresh["relations"]) if refresh["relations"] else "-"
    when = {
        "queued": f"queued at {refresh.get('queued_at')}",
        "running": f"refreshing since {refresh.get('started_at')}",
        "done": f"refreshed at {refresh.get('finished_at')}",
        "failed": f"refresh failed at {refresh.get('finished_at')}: {refresh.get('error')}",
    }.get(str(refresh.get("state")), str(refresh.get("state")))
    return f"warehouse {env} ({refresh['release']}): {when}; data as of {as_of}: {names}"
