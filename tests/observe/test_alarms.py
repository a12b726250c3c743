"""The CloudWatch alarms in Terraform watch the metric names the code emits, in its namespace and
dimension: a renamed metric (or alarm) fails here, not silently in production."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from finsight_release.envs.environment import Environment
from finsight_release.envs.promotion import Deployer
from finsight_release.errors import PromotionFailedError
from finsight_release.observe.metrics import (
    ALARM_METRICS,
    BLOCKING_CHECK_FAILED,
    CRITICAL_DAG_SLA_MISSED,
    DEPLOY_FAILED,
    DRIFT_DETECTED,
    NAMESPACE,
    ROLLBACK,
    MetricSink,
)
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.system import ReleaseSystem
from finsight_release.targets.airflow_health import AirflowHealth
from finsight_release.targets.airflow_start import StartResult
from tests.envs.test_promotion import FailingTarget, ListAudit
from tests.mini_platform import make_platform

STACK = REPO_ROOT / "release_assets" / "terraform" / "observability"


def _alarms_in_plan() -> list[dict[str, Any]]:
    plan = json.loads((STACK / "plan.json").read_text())
    return [
        r["change"]["after"]
        for r in plan["resource_changes"]
        if r["type"] == "aws_cloudwatch_metric_alarm"
    ]


def _emitted(path: Path) -> set[str]:
    """The metric names declared by the EMF records in ``path``."""
    names = set()
    for line in path.read_text().splitlines():
        for block in json.loads(line)["_aws"]["CloudWatchMetrics"]:
            assert block["Namespace"] == NAMESPACE
            names |= {m["Name"] for m in block["Metrics"]}
    return names


def test_alarm_metric_names_are_the_ones_the_code_declares() -> None:
    source = (STACK / "main.tf").read_text()
    in_tf = set(re.findall(r'^\s*metric\s*=\s*"(\w+)"', source, re.MULTILINE))
    assert in_tf == set(ALARM_METRICS)
    assert f'namespace = "{NAMESPACE}"' in source
    alarms = _alarms_in_plan()
    assert {a["metric_name"] for a in alarms} == set(ALARM_METRICS)
    for alarm in alarms:
        assert alarm["namespace"] == NAMESPACE and alarm["dimensions"] == {"Environment": "prod"}
    # One for_each alarm over local.alarms: every alarm the plan creates comes from that table.
    assert re.findall(r'resource "aws_cloudwatch_metric_alarm" "(\w+)"', source) == ["prod"]
    assert "for_each            = local.alarms" in source
    assert len(alarms) == len(ALARM_METRICS)
    assert all(a["alarm_name"].startswith("finsight-prod-") for a in alarms)


def test_the_code_emits_every_alarm_metric(tmp_path: Path) -> None:
    # Failed deploy and its automatic rollback: a promotion whose verification fails.
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    flaky = FailingTarget()
    deployer = Deployer(
        repo=repo,
        targets=[flaky],
        audit=ListAudit(),
        actor="alice",
        metrics=MetricSink(tmp_path / "deploy.jsonl"),
    )
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "alice")
    v2, _ = repo.build(
        make_platform(tmp_path / "p2", {"dbt_project/models/stg_accounts.sql": "select 2\n"}),
        "alice",
        base=v1,
    )
    deployer.promote(Environment.DEV, v1.release_id)
    flaky.fail = True
    with pytest.raises(PromotionFailedError):
        deployer.promote(Environment.DEV, v2.release_id)
    assert {DEPLOY_FAILED, ROLLBACK} <= _emitted(tmp_path / "deploy.jsonl")

    # A blocking validation finding (an unreadable prod config) through the real validation.
    tree = make_platform(
        tmp_path / "broken",
        {"release_assets/config/prod.yaml": "environment: [broken\n"},
        without="dbt_project",
    )
    system = ReleaseSystem(
        load_settings(
            home=tmp_path / "home", platform=tree, metrics_path=tmp_path / "validate.jsonl"
        )
    )
    outcome = system.validate(Environment.PROD, tree, None, True)
    assert not outcome.report.passed
    assert BLOCKING_CHECK_FAILED in _emitted(tmp_path / "validate.jsonl")

    # Drift: a refresh-only plan with drifted resources recorded for prod.
    plans = REPO_ROOT / "tests" / "fixtures" / "terraform_plans"
    assert system.ingest_drift(
        Environment.PROD, plans / "hashicorp-terraform__show-json_drift.json"
    )
    assert DRIFT_DETECTED in _emitted(tmp_path / "validate.jsonl")

    # A critical DAG whose smoke run did not start in time: the reading ``airflow_health`` emits.
    late = StartResult("ingest_core_banking", "smoke", False, None, "r1", "queued", "not started")
    on_time = StartResult("smoke_ok", "smoke", True, 4.2, "r2", "success", "started")
    sink = MetricSink(tmp_path / "airflow.jsonl")
    for record in AirflowHealth("prod", "r-x", True, starts=[late, on_time]).metric_records():
        sink.emit(record)
    assert _emitted(tmp_path / "airflow.jsonl") == {CRITICAL_DAG_SLA_MISSED}
    (record,) = AirflowHealth("prod", "r-x", True, starts=[late]).metric_records()
    assert record["Dags"] == ["ingest_core_banking"] and record["Environment"] == "prod"
    assert AirflowHealth("prod", "r-x", True, starts=[on_time]).metric_records() == []
