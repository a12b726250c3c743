"""The end-to-end demo on the embedded defaults: build and ship v1, then let the automation catch v2.

v1 ships by a person's commands (the same core calls the CLI uses) to dev, staging and prod. v2
carries a harmless DAG change and a data-quality regression in a mart that passes pre-deploy
validation; the pipeline's sensors (driven in process against a real Dagster instance, see
``automation/in_process.py``) promote it to dev, the post-deploy checks fail on the mart, the
failure is attributed by lineage to v2's dbt change and dev is rolled back to v1. It runs against
the local store, the DuckDB warehouse and a local Airflow dags folder, and prints a timeline with
each step's duration and the time from the failing check to v1 live.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table

from finsight_release.envs.environment import Environment
from finsight_release.errors import FinsightError
from finsight_release.system import ReleaseSystem

# State the demo owns under FINSIGHT_HOME; removed on a fresh run (nothing else is touched).
DEMO_STATE = (
    "store",
    "targets",
    "spark",  # the Spark artifact location (the local default of FINSIGHT_SPARK_ARTIFACTS_URL)
    "warehouse",
    "audit.db",
    "metrics.jsonl",
    "demo",
    "validate-cache",
    "dagster",  # the Dagster instance the demo records into (unless DAGSTER_HOME points elsewhere)
)

# v2's change: a DAG behaviour change (the fast path) and a regression in a mart: its new filter
# names a payment status that does not exist ('settled'; the statuses are succeeded, failed,
# pending), so the mart is built empty. The SQL compiles, the contract's columns and types hold and
# no dbt test covers the row count, so validation passes; the mart's Soda contract (rows > 0) fails.
V2_DAG_FILE = "release_assets/airflow/dags/reconciliation/ledger_vs_payments.py"
V2_DBT_FILE = "dbt_project/models/marts/payments/agg_daily_payments.sql"
REGRESSED_MART = "agg_daily_payments"
# The clock the post-deploy checks read: half a day after the synthetic data's last loads.
DATA_CLOCK = datetime(2024, 12, 31, 12, 0)


@dataclass
class Step:
    """One timeline row."""

    name: str
    seconds: float
    result: str
    span: bool = False  # a measured interval across steps, not a step (left out of the total)


class Timeline:
    """Times steps and prints progress as they finish."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.steps: list[Step] = []

    def run(self, name: str, work: Callable[[], Any], describe: Callable[[Any], str] = str) -> Any:
        start = time.perf_counter()
        with self.console.status(f"{name}..."):
            value = work()
        step = Step(name, time.perf_counter() - start, describe(value))
        self.steps.append(step)
        self.console.print(
            f"[green]✓[/green] {name} [dim]{step.seconds:.2f}s[/dim]  {step.result}",
            highlight=False,
        )
        return value

    def measure(self, name: str, seconds: float, result: str) -> None:
        """Add a measured interval across steps (shown, not added to the total)."""
        self.steps.append(Step(name, seconds, result, span=True))
        self.console.print(
            f"[cyan]⏱[/cyan] {name} [dim]{seconds:.2f}s[/dim]  {result}", highlight=False
        )

    def table(self) -> Table:
        table = Table(title="finsight-release demo timeline")
        table.add_column("#", justify="right")
        table.add_column("step")
        table.add_column("seconds", justify="right")
        table.add_column("result")
        for i, step in enumerate(self.steps, 1):
            table.add_row(str(i), step.name, f"{step.seconds:.2f}", step.result)
        total = sum(s.seconds for s in self.steps if not s.span)
        table.add_row("", "[bold]total[/bold]", f"[bold]{total:.2f}[/bold]", "")
        return table


def reset_state(home: Path) -> None:
    """Remove only the demo-owned state under ``home``."""
    for name in DEMO_STATE:
        path = home / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def copy_platform(platform: Path, dest: Path) -> Path:
    """Copy the release-relevant part of a platform tree (no generated files)."""
    ignore = shutil.ignore_patterns(
        "target", "logs", "dbt_packages", "__pycache__", "*.duckdb", "*.pyc"
    )
    for part in ("release_assets", "dbt_project"):
        if (platform / part).is_dir():
            shutil.copytree(platform / part, dest / part, ignore=ignore, symlinks=True)
    return dest


def make_v2_change(tree: Path) -> str:
    """Apply v2's change to a copied tree: more retries on a critical DAG, a regressed mart."""
    dag = tree / V2_DAG_FILE
    text = dag.read_text()
    changed, n = re.subn(
        r"retries=(\d+)", lambda m: f"retries={int(m.group(1)) + 1}", text, count=1
    )
    if not n:
        raise FinsightError(f"demo: cannot find retries in {V2_DAG_FILE} to change")
    dag.write_text(changed)
    model = tree / V2_DBT_FILE
    sql, n = re.subn(
        r"^group by",
        "-- v2: only settled payments count toward the daily volume\n"
        "where payment_status = 'settled'\ngroup by",
        model.read_text(),
        count=1,
        flags=re.MULTILINE,
    )
    if not n:
        raise FinsightError(f"demo: cannot find the group by in {V2_DBT_FILE} to change")
    model.write_text(sql)
    return f"{dag.name} retries+1, {model.name} filters on status 'settled'"


class PipelineDriver(Protocol):
    """The Dagster side of the demo (``automation/in_process.py``): ticks a sensor of the code
    location, executing the runs it requests, and records check results in the instance."""

    def tick(self, sensor_name: str) -> Any:
        """Evaluate the sensor once; the tick (``skip_reason``, ``runs``, ``describe()``)."""

    def failed_check_at(self, asset: str) -> float:
        """When (``perf_counter``) the latest failing blocking check on ``asset`` was recorded."""


def run_demo(
    system: ReleaseSystem,
    console: Console,
    fresh: bool = True,
    observe: Callable[[ReleaseSystem], None] | None = None,
    driver: Callable[[ReleaseSystem], PipelineDriver] | None = None,
) -> list[Step]:
    """Run the whole demo; returns the timeline steps. ``observe`` attaches observers (the Dagster
    instance recorder) once the state is reset, so they record this run only; ``driver`` gives the
    Dagster side that ticks the sensors (required: the loop is what the demo shows)."""
    if driver is None:
        raise FinsightError("demo: needs the Dagster driver that ticks the pipeline's sensors")
    # Health comes from evidence: the post-deploy checks judge freshness on the synthetic data's
    # clock (its loads end on a fixed date), the demo's own judgements and the promote runs' alike.
    system = replace(
        system, settings=system.settings.model_copy(update={"checks_clock": DATA_CLOCK})
    )
    home = system.settings.home
    if fresh:
        reset_state(home)
    if observe is not None:
        observe(system)
    timeline = Timeline(console)
    envs = (Environment.DEV, Environment.STAGING, Environment.PROD)

    def built(value: tuple[Any, bool]) -> str:
        manifest, created = value
        cs = (
            ",".join(sorted(manifest.change_set.classes))
            if manifest.change_set
            else "first release"
        )
        return f"{manifest.release_id} {len(manifest.artifacts)} artifacts{'' if created else ' (reused)'}; {cs}"

    def live(record: Any) -> str:
        changed = len(record.change_set.changes)
        return f"{record.to_release} {record.state}; {changed} artifacts applied"

    def judged(judgement: Any) -> str:
        return f"{judgement.verdict}: {judgement.summary()}"

    def validated(value: tuple[Any, Any, Any]) -> str:
        report, verdict, _ = value
        if not verdict.passed:
            raise FinsightError(
                f"demo: validation of {verdict.release_id} failed: {verdict.blocking[:3]}"
            )
        counts = report.counts
        return f"{verdict.release_id} passed ({counts.get('warning', 0)} warnings, {report.seconds:.1f}s checks)"

    def ship(label: str, tree: Path, release_id: str) -> None:
        for env in envs:
            if (
                env.is_prod
            ):  # prod is gated on a passing validation of this exact release against prod
                timeline.run(
                    f"validate {label} for prod", partial(system.validate, env, tree), validated
                )
            timeline.run(
                f"promote {label} to {env}", partial(system.promote, env, release_id), live
            )
            # Health comes from evidence: the post-deploy checks judge what env now runs.
            timeline.run(f"checks on {label} in {env}", partial(system.judge, env), judged)

    # Each release is built and validated from its own copy: a tree edited meanwhile (a working
    # checkout) cannot make the validated release differ from the built one.
    v1_tree = copy_platform(system.settings.platform, home / "demo" / "platform-v1")
    v1, _ = timeline.run("build release v1", lambda: system.build(v1_tree), built)
    ship("v1", v1_tree, v1.release_id)
    tree = copy_platform(v1_tree, home / "demo" / "platform-v2")
    timeline.run("change platform for v2", lambda: make_v2_change(tree))
    v2, _ = timeline.run("build release v2", lambda: system.build(tree), built)
    automation = driver(system)
    catch_regression(system, timeline, automation, tree, v1.release_id, v2.release_id)

    from finsight_release.audit.verify import verify_chain

    result = timeline.run(
        "verify audit chain", lambda: verify_chain(system.audit), lambda r: r.message
    )
    if not result.ok:
        raise FinsightError(f"demo: audit chain broken: {result.message}")
    console.print(timeline.table())
    console.print(
        f"dev runs {system.board.read(Environment.DEV)[0].release_id} again (v2 rolled back); "
        f"prod runs {system.board.read(Environment.PROD)[0].release_id}; Airflow dags folder: "
        f"{system.airflow_dags_folder(Environment.PROD)}; warehouse: {system.settings.warehouse_path}/prod.duckdb"
    )
    dagster_home = os.environ.get("DAGSTER_HOME") or home / "dagster"
    console.print(
        f"Next: `DAGSTER_HOME={dagster_home} .venv/bin/dagster dev` and open Lineage: the releases, "
        "each environment's deployments, the sensors' runs and the checks this run recorded."
    )
    return timeline.steps


def catch_regression(
    system: ReleaseSystem,
    timeline: Timeline,
    automation: PipelineDriver,
    tree: Path,
    v1: str,
    v2: str,
) -> None:
    """v2 through the automation: validated for dev, promoted by the dev sensor, judged by the
    post-deploy checks, attributed and rolled back by the rollback sensor; the sensors then hold it."""
    dev = Environment.DEV

    def validated(value: tuple[Any, Any, Any]) -> str:
        report, verdict, _ = value
        if not verdict.passed:
            raise FinsightError(f"demo: validation of v2 for dev failed: {verdict.blocking[:3]}")
        return f"{verdict.release_id} passed ({report.counts.get('warning', 0)} warnings)"

    def promoted(tick: Any) -> str:
        if system.board.read(dev)[0].release_id != v2:
            raise FinsightError(f"demo: the dev sensor did not promote v2: {tick.describe()}")
        diffs = "; ".join(d.summary() for d in system.warehouse_target.diffs(dev, v2))
        return f"{tick.describe()}: dev runs v2; data diff {diffs or 'none'}"

    def judged(event: dict[str, Any]) -> str:
        details = event["details"]
        failed = [line for line in details["blocking"] if REGRESSED_MART in line]
        if event["release_id"] != v2 or not failed:
            raise FinsightError(
                f"demo: the promote run's checks did not catch the regression: {details['summary']}"
            )
        counts = details["counts"]
        return f"{counts['blocking']} blocking of {counts['total']}: " + "; ".join(failed)

    def rolled_back(tick: Any) -> str:
        if system.board.read(dev)[0].release_id != v1:
            raise FinsightError(f"demo: dev was not rolled back to v1: {tick.describe()}")
        events = system.audit.events(environment=str(dev), action="attribute")
        path = " -> ".join(events[0]["details"]["path"]) if events else "?"  # newest first
        return f"{tick.describe()}: {path}; dev runs v1"

    timeline.run("validate v2 for dev", partial(system.validate, dev, tree), validated)
    timeline.run(
        "sensor promote_dev_when_ready",
        partial(automation.tick, "promote_dev_when_ready"),
        promoted,
    )
    # The promote run judged v2 in dev as soon as it was live (promote_job's post-deploy checks).
    timeline.run(
        "post-deploy checks on v2 in dev (in the promote run)",
        lambda: system.audit.events(environment=str(dev), action="checks")[0],
        judged,
    )
    failed_at = automation.failed_check_at(REGRESSED_MART)
    tick = timeline.run(
        "sensor rollback_on_failed_checks",
        partial(automation.tick, "rollback_on_failed_checks"),
        rolled_back,
    )
    timeline.measure(
        "failing check -> v1 live in dev",
        tick.runs[-1].ended_at - failed_at,
        "from the failing check's evaluation to the end of the rollback run",
    )
    for sensor in ("promote_staging_when_ready", "promote_dev_when_ready"):
        timeline.run(f"sensor {sensor}", partial(automation.tick, sensor), lambda t: t.describe())
