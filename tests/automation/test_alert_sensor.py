"""The alert sensor on a real audit log and a real webhook server on loopback: each audit event that
needs a person (failing blocking check, rollback, critical-DAG SLA miss, drift) posts one alert naming
the release, the environment, the failing layer and the diagnosis; a dead webhook is retried, logged,
and the cursor moves on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.alert_sensor import alert_on_audit_events
from finsight_release.envs.environment import Environment
from finsight_release.observe.alert_feed import alert_for, check_layer
from finsight_release.settings import REPO_ROOT
from finsight_release.system import ReleaseSystem
from finsight_release.targets.airflow_health import AirflowHealth
from finsight_release.targets.airflow_start import StartResult
from tests.conftest import free_port
from tests.mini_platform import make_platform
from tests.observe.test_alerts import Webhook

DEV, PROD = Environment.DEV, Environment.PROD
DRIFT_PLAN = REPO_ROOT / "tests/fixtures/terraform_plans/hashicorp-terraform__show-json_drift.json"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.thread.start()
    yield hook
    hook.server.shutdown()


def tick(resource: ReleaseSystemResource, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, resources={"release_system": resource})
    result = alert_on_audit_events(context)
    assert isinstance(result, dg.SensorResult)
    return result


def released(system: ReleaseSystem, tmp_path: Path) -> tuple[str, str]:
    """v1 then v2 live in dev (DAG-only change of the mini platform)."""
    v1 = system.build(make_platform(tmp_path / "p1", without="dbt"))[0].release_id
    dags = {"release_assets/airflow/dags/ingest_core.py": "# v2\nDAG_ID = 'ingest_core'\n"}
    v2 = system.build(make_platform(tmp_path / "p2", dags, without="dbt"))[0].release_id
    system.promote(DEV, v1)
    system.promote(DEV, v2)
    return v1, v2


def test_audit_events_that_need_a_person_are_posted_once(
    tmp_path: Path, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSIGHT_ALERT_WEBHOOK", webhook.url)
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    resource = ReleaseSystemResource(home=str(tmp_path / "home"), actor="ops")
    system = resource.system()
    v1, v2 = released(system, tmp_path)
    first = tick(resource, None)  # history is not paged
    assert webhook.posts == [] and first.cursor == str(system.audit.events(limit=1)[0]["seq"])

    system.rollback(DEV)  # a person's rollback
    system.ingest_drift(PROD, DRIFT_PLAN)
    system.judge_failed_check("fct_payments:not_null_fct_payments_amount", None, "sensor:x")
    late = StartResult("ingest_core", "smoke", False, None, "run-1", "queued", "not started")
    system.audit.append(  # what ReleaseSystem.airflow_health audits for a missed start SLA
        actor="ops",
        action="airflow_health",
        release_id=v1,
        environment="dev",
        outcome="unhealthy",
        details=AirflowHealth("dev", v1, True, starts=[late]).as_dict(),
    )
    second = tick(resource, first.cursor)
    texts = webhook.texts()
    assert len(texts) == 4, texts
    rollback, drift, check, sla = texts
    assert f"dev rolled back to {v1} by ops" in rollback and "failing layer: rollback" in rollback
    assert "infrastructure drift in prod" in drift and "failing layer: terraform drift" in drift
    assert "diagnosis: " in drift
    assert "blocking check fct_payments:not_null_fct_payments_amount failed" in check
    assert "failing layer: dbt" in check and "diagnosis: no live change upstream" in check
    assert "critical DAG start SLA missed in dev: ingest_core" in sla
    assert f"release: {v1}" in sla and "diagnosis: ingest_core: queued (not started)" in sla
    assert second.cursor == str(system.audit.events(limit=1)[0]["seq"])
    idle = tick(resource, second.cursor).skip_reason
    assert idle is not None and idle.skip_message == "no new audit events"
    assert len(webhook.posts) == 4  # each event alerted once


def test_an_unreachable_webhook_is_retried_logged_and_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSIGHT_ALERT_WEBHOOK", f"http://127.0.0.1:{free_port()}/hook")
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    resource = ReleaseSystemResource(home=str(tmp_path / "home"), actor="ops")
    system = resource.system()
    released(system, tmp_path)
    cursor = tick(resource, None).cursor
    system.rollback(DEV)
    started = time.monotonic()
    result = tick(resource, cursor)
    assert time.monotonic() - started < 10
    assert result.skip_reason is not None
    assert "1 alerts (0 delivered)" in str(result.skip_reason.skip_message)
    assert result.cursor == str(system.audit.events(limit=1)[0]["seq"])


def test_the_automatic_restore_of_a_failed_promotion_is_left_to_the_deployer() -> None:
    event = {
        "seq": 9,
        "action": "rollback",
        "outcome": "ok",
        "release_id": "r-1",
        "environment": "prod",
        "actor": "ci",
        "details": {"automatic": True, "operation_id": "op"},
    }
    assert alert_for(event) is None  # the Deployer posted it, after the restore
    restore = {**event, "action": "restore", "outcome": "failed"}
    restore["details"] = {"operation_id": "op", "cause": "verify failed", "error": "locked"}
    alert = alert_for(restore)
    assert alert is not None and "prod stays claimed" in alert.title
    assert check_layer("prod/airflow_dags:airflow_critical_start_sla").endswith("start SLA")
