"""Secret references resolve against moto's Secrets Manager on loopback and the process environment."""

from __future__ import annotations

import boto3
import pytest

from finsight_release.validate.secrets.refs import SecretResolver


def test_aws_sm_refs_resolve_against_secrets_manager(
    moto_server: str, request: pytest.FixtureRequest
) -> None:
    name = f"finsight/dev/{request.node.name}"
    client = boto3.client("secretsmanager")  # endpoint and fake credentials come from the fixture
    client.create_secret(Name=name, SecretString="not-read-by-the-check")
    resolver = SecretResolver()
    assert resolver.resolve(f"aws-sm:{name}").ok
    missing = resolver.resolve(f"aws-sm:{name}-missing")
    assert not missing.ok and missing.reachable and missing.detail == "not found in Secrets Manager"


def test_secret_scheduled_for_deletion_does_not_resolve(
    moto_server: str, request: pytest.FixtureRequest
) -> None:
    name = f"finsight/dev/{request.node.name}"
    client = boto3.client("secretsmanager")
    client.create_secret(Name=name, SecretString="x")
    client.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    result = SecretResolver().resolve(f"aws-sm:{name}")
    assert not result.ok and "scheduled for deletion" in result.detail


def test_unreachable_endpoint_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: connection refused
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    result = SecretResolver(region="us-east-1").resolve("aws-sm:finsight/prod/snowflake")
    assert not result.ok and not result.reachable and "unreachable" in result.detail


def test_env_refs_and_unknown_schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSIGHT_TEST_TOKEN", "set")
    monkeypatch.delenv("FINSIGHT_TEST_ABSENT", raising=False)
    resolver = SecretResolver()
    assert resolver.resolve("env:FINSIGHT_TEST_TOKEN").ok
    assert resolver.resolve("env:FINSIGHT_TEST_ABSENT").detail == "not set"
    assert "unknown scheme" in resolver.resolve("vault:kv/x").detail
