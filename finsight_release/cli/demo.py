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
    from finsight_release.automation.in_process import InProcessPipeline, code_location_repository
    from finsight_release.demo import run_demo

    repository = code_location_repository()  # loads while v1 ships
    recorders: list[InstanceRecorder] = []

    def record_in_dagster(system: ReleaseSystem) -> None:
        home = instance_home(system.settings.home)
        recorders.append(InstanceRecorder(home, data_diffs=system.data_diffs, dora=system.dora))
        system.observers.append(recorders[0])

    def drive(system: ReleaseSystem) -> InProcessPipeline:
        return InProcessPipeline.for_system(recorders[0].instance, system, repository)

    run_demo(
        open_system(record_in_dagster=False),
        console=out,
        fresh=not keep,
        observe=record_in_dagster,
        driver=drive,
    )
