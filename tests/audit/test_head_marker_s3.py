"""The head marker in an S3 store (moto's server over HTTP): Object Lock on its history, tampering seen through."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from finsight_release.audit.log import (
    HEAD_ANCHOR_KEY,
    AuditLog,
    AuditLogError,
    HeadMark,
    history_key,
)
from finsight_release.audit.verify import verify_chain
from finsight_release.store.s3 import S3ObjectStore
from tests.audit.chain_helpers import fill, tamper

PREFIX = "finsight"


def make_bucket(endpoint: str, tmp_path: Path, object_lock: bool) -> tuple[Any, str]:
    client = boto3.client("s3", endpoint_url=endpoint)
    bucket = re.sub(r"[^a-z0-9-]", "-", tmp_path.name.lower())[:50].strip("-") + (
        "-locked" if object_lock else "-plain"
    )
    client.create_bucket(
        Bucket=bucket, **({"ObjectLockEnabledForBucket": True} if object_lock else {})
    )
    return client, bucket


@pytest.fixture
def locked(moto_server: str, tmp_path: Path) -> tuple[AuditLog, Any, str]:
    """A SQLite audit log anchored in an Object Lock bucket, with three events; and the S3 client and bucket."""
    client, bucket = make_bucket(moto_server, tmp_path, object_lock=True)
    log = AuditLog(
        f"sqlite:///{tmp_path / 'audit.db'}",
        anchor=S3ObjectStore(f"s3://{bucket}/{PREFIX}", endpoint_url=moto_server),
    )
    fill(log, 3)
    return log, client, bucket


def test_each_marker_value_is_kept_under_compliance_retention(
    locked: tuple[AuditLog, Any, str],
) -> None:
    log, client, bucket = locked
    assert verify_chain(log).ok
    at_least = datetime.now(UTC) + timedelta(days=90) - timedelta(minutes=5)
    for seq in range(4):
        key = f"{PREFIX}/{history_key(seq)}"
        head = client.head_object(Bucket=bucket, Key=key)
        assert (
            head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] >= at_least
        )
        with pytest.raises(ClientError, match="AccessDenied"):  # not even the writer can remove it
            client.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])


def test_truncated_log_is_refused_and_fails_verification(locked: tuple[AuditLog, Any, str]) -> None:
    log, client, bucket = locked
    head = log.head_marks()[0]
    assert head is not None and head.seq == 3
    tamper(log, "delete from audit_events where seq > 1")
    marker_before = client.get_object(Bucket=bucket, Key=f"{PREFIX}/{HEAD_ANCHOR_KEY}")[
        "Body"
    ].read()
    with pytest.raises(
        AuditLogError, match=re.escape(f"vouches for {head.describe()} but the log ends at seq 1")
    ):
        log.append(actor="mallory", action="refuse", outcome="refused")
    assert (
        client.get_object(Bucket=bucket, Key=f"{PREFIX}/{HEAD_ANCHOR_KEY}")["Body"].read()
        == marker_before
    )
    result = verify_chain(log)
    assert not result.ok and head.describe() in result.message


def test_hiding_the_marker_and_its_history_behind_delete_markers_hides_nothing(
    locked: tuple[AuditLog, Any, str],
) -> None:
    """What someone with s3:DeleteObject and s3:PutObject can do to a locked bucket: delete markers and new
    versions over locked keys, and a marker put back to an older value with the log truncated to match."""
    log, client, bucket = locked
    head = log.head_marks()[0]
    assert head is not None
    old_marker = client.get_object(Bucket=bucket, Key=f"{PREFIX}/{history_key(1)}")["Body"].read()
    tamper(log, "delete from audit_events where seq > 1")
    client.delete_object(Bucket=bucket, Key=f"{PREFIX}/{history_key(2)}")
    client.put_object(
        Bucket=bucket, Key=f"{PREFIX}/{history_key(3)}", Body=old_marker
    )  # a forged newer version
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/{HEAD_ANCHOR_KEY}", Body=old_marker)
    # Seen through: the delete marker hides history 2 from listings only, and history 3's first,
    # locked version is the one read.
    assert log.head_marks() == (HeadMark.from_bytes(old_marker), head)
    with pytest.raises(AuditLogError, match="history vouches for seq 2"):
        log.append(actor="mallory", action="refuse", outcome="refused")
    result = verify_chain(log)
    assert not result.ok and head.describe() in result.message

    client.delete_object(Bucket=bucket, Key=f"{PREFIX}/{HEAD_ANCHOR_KEY}")
    result = verify_chain(log)
    assert (
        not result.ok
        and "head.json missing" in result.message
        and head.describe() in result.message
    )


def test_a_bucket_without_object_lock_still_gets_create_only_history(
    moto_server: str, tmp_path: Path
) -> None:
    client, bucket = make_bucket(moto_server, tmp_path, object_lock=False)
    store = S3ObjectStore(f"s3://{bucket}/{PREFIX}", endpoint_url=moto_server)
    log = AuditLog(f"sqlite:///{tmp_path / 'audit.db'}", anchor=store)
    fill(log, 2)
    assert verify_chain(log).ok and "ObjectLockMode" not in client.head_object(
        Bucket=bucket, Key=f"{PREFIX}/{history_key(2)}"
    )
    assert not store.put_retained(history_key(2), b"{}", datetime.now(UTC))
    client.delete_object(Bucket=bucket, Key=f"{PREFIX}/{HEAD_ANCHOR_KEY}")
    assert not verify_chain(log).ok
