"""Airflow DAG ``dbt_build_marts`` (critical): build and test the marts once the night's loads are in.

Gate first: ``dbt source freshness`` on the sources the marts read fails fast when an ingest is late,
instead of building marts on stale data. SLA: the marts must be built by 06:30 UTC (2 h after start).
"""

from datetime import timedelta

from airflow import DAG
from finsight_platform.alerts import notify_sla_miss
from finsight_platform.dbt import dbt_task
from finsight_platform.defaults import START_DATE, default_args

with DAG(
    dag_id="dbt_build_marts",
    description="dbt build of the marts (models + tests) after a source freshness gate",
    schedule="30 4 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=3),
    default_args=default_args("team-analytics-engineering", retries=1, sla=timedelta(hours=2)),
    sla_miss_callback=notify_sla_miss,
    tags=["dbt", "transform", "critical"],
) as dag:
    freshness_gate = dbt_task(
        "check_source_freshness",
        "source",
        "freshness",
        "--select",
        "source:core_banking",
        "source:payments",
        "source:merchants",
        "source:risk",
        "source:s3_market",
        "source:s3_events",
    )
    build_marts = dbt_task("build_marts", "build", "--select", "marts", "--fail-fast")
    freshness_gate >> build_marts
