"""The Airflow REST client's failures, each one line naming the cause, against loopback sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from finsight_release.errors import AirflowApiError
from finsight_release.targets.airflow_api import AirflowApi, AirflowEndpoint
from tests.conftest import free_port


class Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class Silent(Quiet):
    """Reads the request and never answers: a webserver stuck on a locked metadata database."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.release.wait(10)  # type: ignore[attr-defined]


class NotJson(Quiet):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>login</html>")


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.release = threading.Event()  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_url() -> Iterator[str]:
    yield from serve(Silent)


@pytest.fixture
def not_json_url() -> Iterator[str]:
    yield from serve(NotJson)


def test_no_answer_within_the_timeout_is_told_apart_from_unreachable(silent_url: str) -> None:
    api = AirflowApi(AirflowEndpoint(silent_url, "admin", "s3cret", timeout_s=0.5))
    with pytest.raises(AirflowApiError) as caught:
        api.check_access()
    message = str(caught.value)
    assert message == (
        f"Airflow API {silent_url} did not answer GET dags?limit=1&only_active=false within 0.5 s"
    )
    assert "\n" not in message and "s3cret" not in message


def test_nothing_listening_is_unreachable() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with socket.socket() as probe:  # the port is free: nothing accepts on it
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    api = AirflowApi(AirflowEndpoint(url, "admin", "admin", timeout_s=2))
    with pytest.raises(AirflowApiError, match=rf"^Airflow API {url} unreachable \(GET health\): "):
        api.health()


def test_an_answer_that_is_not_json_is_named(not_json_url: str) -> None:
    api = AirflowApi(AirflowEndpoint(not_json_url, "admin", "admin", timeout_s=2))
    with pytest.raises(AirflowApiError, match=r"answered something that is not JSON: .*login"):
        api.health()
