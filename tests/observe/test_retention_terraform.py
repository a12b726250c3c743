"""The 90-day retention is the same number everywhere it is enforced: the Terraform plan of the
observability stack (CloudWatch log groups, the logs bucket's lifecycle rule, the evidence bucket's
Object Lock) and the code (head-marker history and evidence Object Lock retention, the audit
prune's floor). A change to one without the others fails here."""

from __future__ import annotations

import json
from typing import Any

from finsight_release.audit.export import EVIDENCE_RETENTION
from finsight_release.audit.log import HEAD_HISTORY_RETENTION
from finsight_release.audit.prune import MIN_RETENTION_DAYS
from finsight_release.settings import REPO_ROOT

PLAN = REPO_ROOT / "release_assets" / "terraform" / "observability" / "plan.json"
DAYS = 90


def planned(kind: str) -> list[dict[str, Any]]:
    plan = json.loads(PLAN.read_text())
    return [r["change"]["after"] for r in plan["resource_changes"] if r["type"] == kind]


def test_logs_and_evidence_are_kept_90_days_in_terraform_and_in_the_code() -> None:
    groups = planned("aws_cloudwatch_log_group")
    assert {g["name"] for g in groups} == {"/finsight/release", "airflow-finsight-prod-Task"}
    assert all(g["retention_in_days"] == DAYS for g in groups)
    (lifecycle,) = planned("aws_s3_bucket_lifecycle_configuration")
    (rule,) = lifecycle["rule"]
    assert rule["status"] == "Enabled" and rule["expiration"] == [{"days": DAYS}]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": DAYS}]
    buckets = {b["bucket"]: b for b in planned("aws_s3_bucket")}
    assert buckets["finsight-prod-evidence"]["object_lock_enabled"] is True
    source = PLAN.with_name("main.tf").read_text()
    assert 'mode = "COMPLIANCE"\n      days = 90' in source
    assert EVIDENCE_RETENTION.days == HEAD_HISTORY_RETENTION.days == MIN_RETENTION_DAYS == DAYS
