"""``demo``: the end-to-end demo on the embedded defaults."""

from __future__ import annotations

import click

from finsight_release.cli.app import handles_errors, main, open_system, out
from finsight_release.system import ReleaseSystem


@main.command()
@click.option(
    "--keep", is_flag=True, help="Keep the existing state instead of starting from a clean home."
)
@handles_errors
def demo(keep: bool) -> None:
    """The end-to-end demo on the embedded defaults (no cloud access needed)."""
    from finsight_release.assets.instance_recorder import InstanceRecorder, instance_home
    from finsight_release.demo import run_demo

    def record_in_dagster(system: ReleaseSystem) -> None:
        system.observers.append(InstanceRecorder(instance_home(system.settings.home)))

    run_demo(
        open_system(record_in_dagster=False), console=out, fresh=not keep, observe=record_in_dagster
    )
