"""Credential age detection against Secrets Manager on moto's server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3

from finsight_release.diagnose.detection import credential_findings
from finsight_release.settings import Mode


def test_stale_and_missing_credentials(moto_server: str) -> None:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    client.create_secret(
        Name="finsight/prod/snowflake_airflow_age_test", SecretString="not-read-by-the-check"
    )
    refs = ["aws-sm:finsight/prod/snowflake_airflow_age_test", "env:LOCAL_ONLY"]
    assert credential_findings(refs, Mode.AWS) == []
    later = datetime.now(UTC) + timedelta(days=120)
    (stale,) = credential_findings(refs, Mode.AWS, now=later)
    assert "last rotated 120 days ago" in stale and "rotation not enabled" in stale
    (missing,) = credential_findings(["aws-sm:finsight/prod/never_created"], Mode.AWS)
    assert "never_created: cannot describe" in missing
