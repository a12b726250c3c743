"""The end-to-end demo on the embedded defaults: build, promote, change, promote, roll back, verify.

It runs the same core calls the CLI and Dagster jobs use, against the local store, the DuckDB
warehouse and a local Airflow dags folder, and prints a timeline with each step's duration.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

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

# v2's change: a DAG behaviour change (the fast path) and a dbt model change (a new warehouse version).
V2_DAG_FILE = "release_assets/airflow/dags/reconciliation/ledger_vs_payments.py"
V2_DBT_FILE = "dbt_project/models/staging/stg_payments__payments.sql"
# The clock the post-deploy checks read: half a day after the synthetic data's last loads.
DATA_CLOCK = datetime(2024, 12, 31, 12, 0)


@dataclass
class Step:
    """One timeline row."""

    name: str
    seconds: float
    result: str


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

    def table(self) -> Table:
        table = Table(title="finsight-release demo timeline")
        table.add_column("#", justify="right")
        table.add_column("step")
        table.add_column("seconds", justify="right")
        table.add_column("result")
        for i, step in enumerate(self.steps, 1):
            table.add_row(str(i), step.name, f"{step.seconds:.2f}", step.result)
        table.add_row(
            "", "[bold]total[/bold]", f"[bold]{sum(s.seconds for s in self.steps):.2f}[/bold]", ""
        )
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
    """Apply v2's change to a copied tree: more retries on a critical DAG, a cleaner dbt model."""
    dag = tree / V2_DAG_FILE
    text = dag.read_text()
    changed, n = re.subn(
        r"retries=(\d+)", lambda m: f"retries={int(m.group(1)) + 1}", text, count=1
    )
    if not n:
        raise FinsightError(f"demo: cannot find retries in {V2_DAG_FILE} to change")
    dag.write_text(changed)
    model = tree / V2_DBT_FILE
    model.write_text(
        model.read_text().rstrip() + "\n-- v2: payments staging reviewed for the Q4 close\n"
    )
    return f"{dag.name} retries+1, {model.name} edited"


def run_demo(
    system: ReleaseSystem,
    console: Console,
    fresh: bool = True,
    observe: Callable[[ReleaseSystem], None] | None = None,
) -> list[Step]:
    """Run the whole demo; returns the timeline steps. ``observe`` attaches observers (the Dagster
    instance recorder) once the state is reset, so they record this run only."""
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
            # Health comes from evidence: the post-deploy checks judge what env now runs, on the
            # synthetic data's clock (its loads end on a fixed date, so freshness is judged as of then).
            timeline.run(
                f"checks on {label} in {env}", partial(system.judge, env, DATA_CLOCK), judged
            )

    v1, _ = timeline.run("build release v1", lambda: system.build(system.settings.platform), built)
    ship("v1", system.settings.platform, v1.release_id)
    tree = copy_platform(system.settings.platform, home / "demo" / "platform-v2")
    timeline.run("change platform for v2", lambda: make_v2_change(tree))
    v2, _ = timeline.run("build release v2", lambda: system.build(tree), built)
    ship("v2", tree, v2.release_id)
    timeline.run("roll prod back to v1", lambda: system.rollback(Environment.PROD), live)

    from finsight_release.audit.verify import verify_chain

    result = timeline.run(
        "verify audit chain", lambda: verify_chain(system.audit), lambda r: r.message
    )
    if not result.ok:
        raise FinsightError(f"demo: audit chain broken: {result.message}")
    console.print(timeline.table())
    console.print(
        f"prod runs {system.board.read(Environment.PROD)[0].release_id}; Airflow dags folder: "
        f"{system.airflow_dags_folder(Environment.PROD)}; warehouse: {system.settings.warehouse_path}/prod.duckdb"
    )
    dagster_home = os.environ.get("DAGSTER_HOME") or home / "dagster"
    console.print(
        f"Next: `DAGSTER_HOME={dagster_home} .venv/bin/dagster dev` and open Lineage: the releases, "
        "each environment's deployments and the validation checks this run recorded."
    )
    return timeline.steps
