"""Alerts to a Slack-compatible webhook on a real HTTP server on loopback: retried, then logged; a
dead webhook never stops a rollback; each alert names the release, the failing layer and the diagnosis."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from finsight_release.envs.environment import Environment
from finsight_release.envs.promotion import Deployer
from finsight_release.errors import PromotionFailedError
from finsight_release.observe.alerts import Alert, WebhookAlerts
from finsight_release.observe.logging import configure_logging
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.system import ReleaseSystem
from tests.conftest import free_port
from tests.envs.test_promotion import FailingTarget, ListAudit
from tests.mini_platform import make_platform


class Webhook:
    """A webhook on 127.0.0.1 that answers 500 to the first ``failures`` posts, then 200."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.posts: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append(json.loads(body))
                ok = len(hook.posts) > hook.failures
                self.send_response(200 if ok else 500)
                self.end_headers()
                self.wfile.write(b"ok" if ok else b"busy")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def texts(self) -> list[str]:
        return [p["text"] for p in self.posts]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(failures=2)
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()
    hook.thread.join(timeout=5)


def test_retried_until_delivered(webhook: Webhook) -> None:
    alert = Alert("prod promotion failed", "r-1", "prod", "deploy:switching", "dbt_failure (0.90)")
    assert WebhookAlerts(webhook.url, backoff_s=0.01).send(alert)
    assert len(webhook.posts) == 3  # two 500s, then delivered
    text = webhook.texts()[-1]
    assert "release: r-1" in text and "failing layer: deploy:switching" in text
    assert "diagnosis: dbt_failure (0.90)" in text


def test_unreachable_webhook_is_logged_not_raised() -> None:
    stream = io.StringIO()
    configure_logging(stream)
    url = f"http://127.0.0.1:{free_port()}/services/T0/B0/secret-token"
    began = time.perf_counter()
    assert not WebhookAlerts(url, backoff_s=0.01, timeout_s=1).send(Alert("x"))
    assert time.perf_counter() - began < 5
    warning = [json.loads(line) for line in stream.getvalue().splitlines()][-1]
    assert warning["event"] == "alert not delivered" and warning["attempts"] == 3
    assert "secret-token" not in stream.getvalue()  # the webhook's path is its secret


def _deployer(tmp_path: Path, alerts: WebhookAlerts) -> tuple[Deployer, FailingTarget, str, str]:
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    flaky = FailingTarget()
    deployer = Deployer(repo=repo, targets=[flaky], audit=ListAudit(), actor="alice", alerts=alerts)
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "alice")
    v2, _ = repo.build(
        make_platform(tmp_path / "p2", {"dbt_project/models/stg_accounts.sql": "select 2\n"}),
        "alice",
        base=v1,
    )
    return deployer, flaky, v1.release_id, v2.release_id


def test_failed_promotion_alerts_after_the_rollback(tmp_path: Path, webhook: Webhook) -> None:
    deployer, flaky, v1, v2 = _deployer(tmp_path, WebhookAlerts(webhook.url, backoff_s=0.01))
    deployer.promote(Environment.DEV, v1)
    flaky.fail = True
    with pytest.raises(PromotionFailedError):
        deployer.promote(Environment.DEV, v2)
    assert deployer.board.read(Environment.DEV)[0].release_id == v1
    text = webhook.texts()[-1]
    assert f"promote of {v2} to dev failed; rolled back to {v1}" in text
    assert "failing layer: deploy:verifying" in text and "dbt tests failed" in text


def test_a_dead_webhook_never_stops_a_rollback(tmp_path: Path) -> None:
    dead = WebhookAlerts(f"http://127.0.0.1:{free_port()}/hook", backoff_s=0.01, timeout_s=1)
    deployer, flaky, v1, v2 = _deployer(tmp_path, dead)
    deployer.promote(Environment.DEV, v1)
    flaky.fail = True
    with pytest.raises(PromotionFailedError, match="rolled back"):
        deployer.promote(Environment.DEV, v2)
    pointer = deployer.board.read(Environment.DEV)[0]
    assert pointer.release_id == v1 and pointer.pending is None


def test_a_diagnosed_run_failure_alerts_with_its_diagnosis(
    tmp_path: Path, webhook: Webhook
) -> None:
    webhook.failures = 0
    settings = load_settings(home=tmp_path / "home", alert_webhook=webhook.url)
    system = ReleaseSystem(settings)
    log = "dbt.exceptions.CompilationError: Compilation Error in model stg_accounts\n"
    diagnosis = system.diagnose_failure(
        log, "promote", source={"run_id": "abc", "job": "promote_job"}
    )
    text = webhook.texts()[-1]
    assert f"diagnosis: {diagnosis.category}" in text
    assert f"failing layer: {diagnosis.layer}" in text and "run_id: abc" in text
