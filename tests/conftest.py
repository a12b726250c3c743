"""Shared fixtures: a moto AWS server on loopback for tests that talk to AWS APIs through boto3, and a
running Airflow for the Airflow target and health tests."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.file_costs import heaviest_files_first, load_costs
from tests.newcomer import newcomer_path

if TYPE_CHECKING:
    from tests.targets.airflow_world import AirflowWorld
    from tests.targets.streaming.stream_world import Broker

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def pytest_configure(config: pytest.Config) -> None:
    """Keep the order :func:`pytest_collection_modifyitems` sets: xdist's ``loadfile`` otherwise
    reorders files by their number of tests, which queued the slowest few-test files last."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Heaviest files first (``tests/file_costs.py``): with ``-n 2 --dist loadfile`` the two workers
    then finish together instead of one running the demo alone at the end."""
    heaviest_files_first(items, load_costs())


@pytest.fixture(scope="session", autouse=True)
def newcomer_shell() -> Iterator[None]:
    """Every test runs with the project's virtualenvs off PATH, as a newcomer's shell has it: a tool
    found through PATH instead of ``finsight_release.toolchain`` fails here as it would for them."""
    saved = os.environ.get("PATH", "")
    os.environ["PATH"] = newcomer_path(saved)
    os.environ.pop("VIRTUAL_ENV", None)
    dagster_home = os.environ.pop("DAGSTER_HOME", None)  # the CLI records into it when set
    yield
    if dagster_home is not None:
        os.environ["DAGSTER_HOME"] = dagster_home
    os.environ["PATH"] = saved


@pytest.fixture(scope="session", autouse=True)
def spark_deploys_off() -> Iterator[None]:
    """Promotions copy Spark jobs into the folders as before the Spark target: the mini platform's job
    is a bare job.yaml, not a package. tests/targets/spark and tests/assets/test_spark_jobs.py turn
    the Spark target on (``FINSIGHT_SPARK_DEPLOY=on``) where they test it."""
    saved = os.environ.get("FINSIGHT_SPARK_DEPLOY")
    os.environ["FINSIGHT_SPARK_DEPLOY"] = "off"
    yield
    if saved is None:
        os.environ.pop("FINSIGHT_SPARK_DEPLOY", None)
    else:
        os.environ["FINSIGHT_SPARK_DEPLOY"] = saved


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server_session() -> Iterator[str]:
    """One moto server per test session (per xdist worker) on 127.0.0.1; yields its endpoint URL.

    Prefer :func:`moto_server`, which also points boto3 at it. State is shared across the session:
    use unique resource names per test (e.g. from ``tmp_path.name``).
    """
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_server(moto_server_session: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The moto endpoint URL, with AWS_ENDPOINT_URL and fake credentials set for this test only.

    boto3 clients created in the test (without an explicit endpoint) then talk to moto, never AWS.
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server_session)
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return moto_server_session


@pytest.fixture(scope="session")
def airflow_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowWorld]:
    """Airflow 2.10.5 (webserver + scheduler) on 127.0.0.1 reading dev's published dags folder, with
    a Deployer driving it (``tests/targets/airflow_world.py``); started once per session (per xdist
    worker) by the first test that asks for it, stopped at the end."""
    from tests.targets.airflow_world import start_world

    world = start_world(tmp_path_factory.mktemp("airflow-world"))
    try:
        yield world
    finally:
        world.airflow.stop()


@pytest.fixture
def broker() -> Iterator[Broker]:
    """A Tansu broker on loopback for the test (streaming rollouts), stopped after it."""
    from tests.targets.streaming.stream_world import start_broker

    running = start_broker()
    try:
        yield running
    finally:
        running.stop()
