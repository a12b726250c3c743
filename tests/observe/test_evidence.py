"""Every log line of a promotion carries release, environment, step and run id; every step is a metric."""

from __future__ import annotations

import io
import json
from pathlib import Path

from finsight_release.envs.environment import Environment
from finsight_release.envs.promotion import Deployer
from finsight_release.observe.logging import configure_logging
from finsight_release.observe.metrics import MetricSink
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.local import LocalObjectStore
from finsight_release.targets.folder import FolderTarget
from tests.envs.test_promotion import ListAudit
from tests.mini_platform import make_platform


def test_logs_and_metrics_of_a_promotion(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(stream)
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    metrics = MetricSink(tmp_path / "metrics.jsonl")
    target = FolderTarget(tmp_path / "t", frozenset(ArtifactKind) - {ArtifactKind.DBT_PROJECT})
    deployer = Deployer(
        repo=repo, targets=[target], audit=ListAudit(), actor="alice", metrics=metrics
    )
    v1, _ = repo.build(make_platform(tmp_path / "p", without="dbt_project"), "alice")
    record = deployer.promote(Environment.DEV, v1.release_id)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    step_lines = [entry for entry in lines if entry.get("step")]
    assert step_lines
    for entry in step_lines:
        assert entry["release_id"] == v1.release_id and entry["environment"] == "dev"
        assert entry["operation_id"] == record.id
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    steps = {r["Step"] for r in records}
    assert {
        "promote.preparing",
        "promote.switching",
        "promote.verifying",
        "prepare.folder",
        "switch.folder",
    } <= steps
    assert all(
        r["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "FinSight/Release" for r in records
    )
    assert all(r["Outcome"] == "ok" and r["Duration"] >= 0 for r in records)
