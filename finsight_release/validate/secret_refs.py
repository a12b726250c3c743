"""Resolving secret references in an environment without reading any secret value.

``aws-sm:<name>`` is checked with Secrets Manager ``describe_secret`` (metadata only; the value is
never fetched), at ``AWS_ENDPOINT_URL`` when set (moto in tests, a VPC endpoint in AWS).
``env:<VAR>`` must be set, non-empty, in the process environment. Both are read at call time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

AWS_SM_PREFIX = "aws-sm:"
ENV_PREFIX = "env:"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Resolution:
    """Whether a reference resolves; ``reachable`` is False when the backend could not be asked at all."""

    ok: bool
    detail: str = ""
    reachable: bool = True


def secrets_manager_client(region: str | None = None) -> Any:
    """A Secrets Manager client honouring AWS_ENDPOINT_URL, with short timeouts and few retries."""
    import boto3
    from botocore.config import Config

    env = os.environ
    return boto3.client(
        "secretsmanager",
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        region_name=region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"}),
    )


class SecretResolver:
    """Resolves references for one environment; the AWS client is created on first ``aws-sm:`` use."""

    def __init__(self, region: str | None = None, client: Any = None) -> None:
        self.region = region
        self._client = client

    def resolve(self, ref: str) -> Resolution:
        """Check one reference (``aws-sm:<name>`` or ``env:<VAR>``)."""
        if ref.startswith(ENV_PREFIX):
            name = ref.removeprefix(ENV_PREFIX)
            return Resolution(bool(os.environ.get(name)), "" if os.environ.get(name) else "not set")
        if ref.startswith(AWS_SM_PREFIX):
            return self._describe(ref.removeprefix(AWS_SM_PREFIX))
        return Resolution(False, f"unknown scheme (expected {AWS_SM_PREFIX}<name> or {ENV_PREFIX}<VAR>)")

    def _describe(self, name: str) -> Resolution:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if self._client is None:
                self._client = secrets_manager_client(self.region)
            response = self._client.describe_secret(SecretId=name)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                return Resolution(False, "not found in Secrets Manager")
            return Resolution(
                False, f"Secrets Manager refused: {code or exc}", reachable=code != "AccessDeniedException"
            )
        except BotoCoreError as exc:  # no credentials, endpoint down, timeout
            return Resolution(False, f"Secrets Manager unreachable: {exc}", reachable=False)
        if response.get("DeletedDate"):
            return Resolution(False, "scheduled for deletion in Secrets Manager")
        return Resolution(True)
