"""The ``finsight-release`` command group and what every command shares: the one-line error contract,
the consoles, the common options, and opening the release system from settings."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from finsight_release.envs.environment import Environment
from finsight_release.errors import FinsightError
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem

console = Console(stderr=True)
out = Console()


def open_system(
    platform: Path | None = None, record_in_dagster: bool | None = None
) -> ReleaseSystem:
    """The release system from the environment's settings (``platform`` overrides the tree it reads).

    With ``DAGSTER_HOME`` set (or ``record_in_dagster``), builds, deployments and validations are
    also recorded in that Dagster instance, so its UI shows what the CLI did.
    """
    overrides: dict[str, Any] = {"platform": platform.resolve()} if platform else {}
    system = ReleaseSystem(load_settings(**overrides))
    if record_in_dagster or (record_in_dagster is None and os.environ.get("DAGSTER_HOME")):
        from finsight_release.assets.instance_recorder import InstanceRecorder, instance_home

        home = instance_home(system.settings.home)
        system.observers.append(
            InstanceRecorder(home, data_diffs=system.data_diffs, dora=system.dora)
        )
    return system


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
