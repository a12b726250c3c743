# No `from __future__ import annotations`: Dagster resolves resource field types at runtime.
"""AWS mode's raw-layer reader: the environment's raw database in Snowflake through
dagster-snowflake's ``SnowflakeResource``. Its own module so that local mode never imports
dagster-snowflake (snowflake.core adds seconds to every code-location load)."""

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

from dagster_snowflake import SnowflakeResource

from finsight_release.assets.raw_observations import RawWarehouse
from finsight_release.envs.environment import Environment
from finsight_release.observe.raw_tables import SNOWFLAKE_LAYOUT, Query, RawLayout


class SnowflakeRawWarehouse(RawWarehouse):
    """AWS mode: the environment's raw database in Snowflake (one schema per source, as the dbt
    sources read it) through dagster-snowflake's ``SnowflakeResource``. ``databases``: the raw
    database of each environment (missing: ``FINSIGHT_RAW_DATABASE_<ENV>``, else ``RAW``)."""

    snowflake: SnowflakeResource
    databases: dict[str, str] = {}

    @property
    def layout(self) -> RawLayout:
        return SNOWFLAKE_LAYOUT

    def database(self, env: Environment) -> str:
        return self.databases.get(str(env)) or os.environ.get(
            f"FINSIGHT_RAW_DATABASE_{str(env).upper()}", "RAW"
        )

    @contextlib.contextmanager
    def query(self, env: Environment) -> Iterator[Query]:
        database = self.database(env)
        with self.snowflake.get_connection() as conn:
            cursor = conn.cursor()
            cursor.execute(f"use database {database}")

            def run(sql: str) -> Sequence[Sequence[Any]]:
                cursor.execute(sql)
                return cursor.fetchall()

            yield run
