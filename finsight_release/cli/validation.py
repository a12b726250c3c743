"""``validate``: pre-deploy validation of a platform tree, reported in the terminal or written as a file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from finsight_release.cli.app import (
    console,
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
    "--env",
    "env_name",
    default="dev",
    show_default=True,
    help="Target environment (its config and base).",
)
@click.option(
    "--base",
    default="auto",
    show_default=True,
    help="Base release id, 'auto' (what ENV runs now) or 'none'.",
)
@click.option(
    "--all",
    "validate_all",
    is_flag=True,
    help="Validate every artifact, not only the changed ones.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "markdown"]),
    default="text",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the report here (default: stdout).",
)
@click.option(
    "--workers", type=int, default=2, show_default=True, help="Parallel checks and DAG parsers."
)
@handles_errors
def validate(
    platform: Path | None,
    env_name: str,
    base: str,
    validate_all: bool,
    fmt: str,
    output: Path | None,
    workers: int,
) -> None:
    """Pre-deploy validation of a platform tree; exits 1 on any error finding."""
    from finsight_release.validate.report import RENDERERS, print_report, write_report

    system = open_system(platform)
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
    if output is not None:
        write_report(report, fmt, output)
        out.print(f"report written to {output}")
    elif fmt == "text":
        print_report(report, out)
    else:
        click.echo(RENDERERS[fmt](report))
    console.print(
        f"verdict for {verdict.release_id} in {env}: {'passed' if verdict.passed else 'failed'}"
    )
    sys.exit(0 if report.passed else 1)
