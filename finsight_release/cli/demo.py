"""``demo``: the end-to-end demo on the embedded defaults."""

from __future__ import annotations

import click

from finsight_release.cli.app import handles_errors, main, open_system, out


@main.command()
@click.option(
    "--keep", is_flag=True, help="Keep the existing state instead of starting from a clean home."
)
@handles_errors
def demo(keep: bool) -> None:
    """The end-to-end demo on the embedded defaults (no cloud access needed)."""
    from finsight_release.demo import run_demo

    run_demo(open_system(), console=out, fresh=not keep)
