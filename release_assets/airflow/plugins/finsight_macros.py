"""FinSight's Airflow plugin: template macros shared by the DAGs, available as ``{{ macros.finsight.* }}``.

Loaded by Airflow's plugin manager from the plugins folder (MWAA: plugins.zip). The macros are plain
functions of their arguments, so a landing key computed by an extract task and the key read by the load
task of the same run are always identical, including on retries and backfills.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.plugins_manager import AirflowPlugin

LANDING_PREFIX = "landing"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment


def landing_key(source: str, table: str, interval_start: datetime, file_format: str = "parquet") -> str:
    """S3 key of one extract: ``landing/dt=<date>/<source>/<table>/<start, UTC>.<format>``.

    Partitioned by date first so retention can delete one day with a single prefix.
    """
    start = _utc(interval_start)
    return f"{LANDING_PREFIX}/dt={start:%Y-%m-%d}/{source}/{table}/{start:%Y%m%dT%H%M%S}.{file_format}"


def landing_day_prefix(day: str) -> str:
    """S3 prefix holding every extract of one day (``day`` as ``YYYY-MM-DD``)."""
    datetime.strptime(day, "%Y-%m-%d")  # reject anything else before it becomes a delete prefix
    return f"{LANDING_PREFIX}/dt={day}/"


def raw_table_name(source: str, table: str) -> str:
    """Local raw table name of a source table, ``<source>__<table>``."""
    return f"{source}__{table}"


class FinsightMacrosPlugin(AirflowPlugin):
    """Registers the macros under the plugin name ``finsight``."""

    name = "finsight"
    macros = [landing_key, landing_day_prefix, raw_table_name]
