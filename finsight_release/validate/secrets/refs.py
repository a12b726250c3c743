"""Resolving secret references in an environment, without reading any secret value unless asked to.

``aws-sm:<name>`` is checked with Secrets Manager ``describe_secret`` (metadata only; the value is
never fetched), at ``AWS_ENDPOINT_URL`` when set (moto in tests, a VPC endpoint in AWS).
``env:<VAR>`` must be set, non-empty, in the process environment. Both are read at call time.
In local mode (the embedded default: DuckDB, a local dags folder, no source databases) an unset
``env:`` variable is a *local default*: nothing local reads it, so it resolves, marked as such, and
callers report it as the local default in use; in AWS mode it must be set.
:meth:`SecretResolver.read` does fetch the value (``get_secret_value``), for the one caller that must
log in with it (the warehouse preflight); the value is kept out of ``repr`` and never reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

AWS_SM_PREFIX = "aws-sm:"
ENV_PREFIX = "env:"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Resolution:
    """Whether a reference resolves; ``reachable`` is False when the backend could not be asked at all.

    ``value`` is set only by :meth:`SecretResolver.read`.
    """

    ok: bool
    detail: str = ""
    reachable: bool = True
    local_default: bool = False
    value: str | None = field(default=None, repr=False)


def secrets_manager_client(region: str | None = None) -> Any:
    """A Secrets Manager client honouring AWS_ENDPOINT_URL, with short timeouts and few retries."""
    import boto3
    from botocore.config import Config

    env = os.environ
    return boto3.client(
        "secretsmanager",
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        region_name=region
        or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION,
        config=Config(
            connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"}
        ),
    )


class SecretResolver:
    """Resolves references for one environment; the AWS client is created on first ``aws-sm:`` use."""

    def __init__(
        self, region: str | None = None, client: Any = None, local_defaults: bool = False
    ) -> None:
        self.region = region
        self._client = client
        self.local_defaults = local_defaults

    def resolve(self, ref: str) -> Resolution:
        """Check one reference (``aws-sm:<name>`` or ``env:<VAR>``)."""
        if ref.startswith(ENV_PREFIX):
            if os.environ.get(ref.removeprefix(ENV_PREFIX)):
                return Resolution(True)
            if self.local_defaults:
                return Resolution(True, "not set: the local default is in use", local_default=True)
            return Resolution(False, "not set")
        if ref.startswith(AWS_SM_PREFIX):
            return self._call(ref.removeprefix(AWS_SM_PREFIX), fetch=False)
        return Resolution(
            False, f"unknown scheme (expected {AWS_SM_PREFIX}<name> or {ENV_PREFIX}<VAR>)"
        )

    def read(self, ref: str) -> Resolution:
        """Resolve one reference and fetch its value (``resolution.value``); never log or report it."""
        if ref.startswith(ENV_PREFIX):
            value = os.environ.get(ref.removeprefix(ENV_PREFIX))
            return Resolution(True, value=value) if value else Resolution(False, "not set")
        if ref.startswith(AWS_SM_PREFIX):
            return self._call(ref.removeprefix(AWS_SM_PREFIX), fetch=True)
        return self.resolve(ref)

    def _call(self, name: str, fetch: bool) -> Resolution:
        """``describe_secret`` (metadata only), or ``get_secret_value`` when ``fetch``."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if self._client is None:
                self._client = secrets_manager_client(self.region)
            if fetch:
                response = self._client.get_secret_value(SecretId=name)
                value = response.get("SecretString")
                if not value:
                    return Resolution(False, "has no string value in Secrets Manager")
                return Resolution(True, value=value)
            response = self._client.describe_secret(SecretId=name)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                return Resolution(False, "not found in Secrets Manager")
            return Resolution(
                False,
                f"Secrets Manager refused: {code or exc}",
                reachable=code != "AccessDeniedException",
            )
        except BotoCoreError as exc:  # no credentials, endpoint down, timeout
            return Resolution(False, f"Secrets Manager unreachable: {exc}", reachable=False)
        if response.get("DeletedDate"):
            return Resolution(False, "scheduled for deletion in Secrets Manager")
        return Resolution(True)
