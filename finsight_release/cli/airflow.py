"""``airflow-health``: what an environment's running Airflow says about its live release (import
errors, the critical DAGs' last runs and, with ``--start``, each one's measured start after a smoke
run). One core call (``ReleaseSystem.airflow_health``, which audits and marks the release), rendered."""

from __future__ import annotations

import json

import click
from rich.table import Table

from finsight_release.cli.app import env_argument, handles_errors, main, open_system, out
from finsight_release.envs.environment import Environment
from finsight_release.errors import FinsightError


@main.command("airflow-health")
@env_argument
@click.option(
    "--start",
    is_flag=True,
    help="Trigger a smoke run of each critical DAG and measure its start (the 10-minute SLA).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handles_errors
def airflow_health(env: Environment, start: bool, as_json: bool) -> None:
    """Check ENV's running Airflow; exit 1 when it is unhealthy (the release is marked so)."""
    health = open_system().airflow_health(env, measure_start=start)
    if not health.configured:
        raise FinsightError(
            f"{env} has no Airflow API configured (set FINSIGHT_AIRFLOW_API_{str(env).upper()})"
        )
    if as_json:
        click.echo(json.dumps(health.as_dict(), default=str))
    else:
        out.print(f"{env} runs {health.release_id}: {health.reason()}", highlight=False)
        if health.starts:
            table = Table(title="critical DAG starts after the smoke trigger")
            for col in ("dag", "mode", "started (s)", "state", "ok", "detail"):
                table.add_column(col)
            for s in health.starts:
                table.add_row(s.dag_id, s.mode, str(s.started_s), s.state, str(s.ok), s.detail)
            out.print(table)
    if not health.healthy:
        raise SystemExit(1)
