"""Run wheels on the Spark runtime as the cluster would: installed with their declared dependencies on
top of it, entry point imported, and (for a smoke run) ``main`` run on the job's sample.

This is validation's machinery (:mod:`finsight_release.validate.spark.runtime` for the overlay and the
runtime's own pyspark, :class:`~finsight_release.validate.spark.smoke.SmokeRunner` for the import and
the local-mode run), applied to one wheel per job: the built wheel before it is published, the
published one after a switch. Returns one problem line per failing job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from finsight_release import toolchain
from finsight_release.one_line import one_line
from finsight_release.validate.spark.job_spec import SparkJobSpec
from finsight_release.validate.spark.runtime import (
    SparkRuntime,
    install_overlay,
    runtime_conflicts,
    wheel_requirements,
    write_excludes,
)
from finsight_release.validate.spark.smoke import SmokeJob, SmokeRunner


@dataclass(frozen=True)
class RuntimeRun:
    """One job to run: its wheel and its spec (entry point, sample, Spark settings)."""

    job: str
    wheel: Path
    spec: SparkJobSpec


def _installed(
    runs: list[RuntimeRun], runtime: SparkRuntime, work: Path, problems: dict[str, str]
) -> dict[str, Path]:
    """Each wheel's overlay (wheel + declared dependencies, the runtime's packages excluded)."""
    excludes = write_excludes(runtime, work / "runtime-packages.txt")
    overlays = {}
    for run in runs:
        conflicts = runtime_conflicts(wheel_requirements(run.wheel), runtime)
        if conflicts:
            problems[run.job] = "; ".join(
                f"requires {c.requirement!r} but the runtime provides {c.name} {c.provided}"
                for c in conflicts
            )
            continue
        overlay = work / "overlay" / run.job
        problem = install_overlay(run.wheel, overlay, runtime, excludes)
        if problem is not None:
            problems[run.job] = f"dependencies do not install: {one_line(problem, 300)}"
            continue
        overlays[run.job] = overlay
    return overlays


def run_on_runtime(
    runs: list[RuntimeRun], runtime: SparkRuntime, work: Path, smoke: bool
) -> dict[str, str]:
    """Install and import every wheel; with ``smoke``, run each job's ``main`` on its sample.

    Returns ``job -> problem`` for the jobs that fail (empty: all passed).
    """
    problems: dict[str, str] = {}
    work.mkdir(parents=True, exist_ok=True)
    if smoke and toolchain.java() is None:
        return {run.job: "Java not found: the smoke run cannot start a JVM" for run in runs}
    with SmokeRunner(runtime.python, work, smoke, runtime.class_archive) as runner:
        overlays = _installed(runs, runtime, work, problems)
        jobs = [
            SmokeJob(
                name=run.job,
                overlay=overlays[run.job],
                entry_point=run.spec.entry_point,
                program=run.spec.program,
                input=run.spec.sample,
                output=work / "output" / run.job,
                output_format=run.spec.output_format,
                conf=run.spec.conf,
            )
            for run in runs
            if run.job in overlays
        ]
        report = runner.run(jobs)
    for job in jobs:
        outcome = report.jobs[job.name]
        if outcome.imported is None:
            problems[job.name] = f"not run: {one_line(report.failure or 'the probe ended', 200)}"
        elif not outcome.imported:
            problems[job.name] = (
                f"entry point {job.entry_point} does not import: {one_line(outcome.import_error, 300)}"
            )
        elif not smoke:
            continue
        elif report.session_error:
            problems[job.name] = f"no SparkSession: {one_line(report.session_error, 300)}"
        elif job.input is None:
            problems[job.name] = "no sample to smoke-run on"
        elif not outcome.smoke_ok:
            problems[job.name] = (
                f"smoke run failed: {one_line(outcome.smoke_error or report.failure, 300)}"
            )
        elif not outcome.rows:
            problems[job.name] = "smoke run wrote no rows"
    return problems
