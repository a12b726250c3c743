"""The running Airflow the Airflow target tests share (started once per session, stopped after)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.targets.airflow_world import AirflowWorld, start_world


@pytest.fixture(scope="session")
def airflow_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowWorld]:
    """Airflow 2.10.5 (webserver + scheduler) on 127.0.0.1 reading dev's published dags folder."""
    world = start_world(tmp_path_factory.mktemp("airflow-world"))
    try:
        yield world
    finally:
        world.airflow.stop()
