"""The schema of ``release_assets/config/<env>.yaml``: per-environment settings with secret references only.

Secret references are ``aws-sm:<secret name>`` (AWS Secrets Manager) or ``env:<VAR>`` (an environment
variable, for local development). A literal secret value is rejected by the schema: the fields that
carry credentials only accept references.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from finsight_release.errors import ConfigError

_REF = re.compile(r"^(aws-sm|env):([A-Za-z0-9_./+=@-]+)$")


class SecretRef(BaseModel):
    """A reference to a secret, never the secret itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scheme: Literal["aws-sm", "env"]
    name: str

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        match = _REF.match(text.strip())
        if not match:
            raise ValueError(
                f"{text[:3]}... is not a secret reference (expected aws-sm:<name> or env:<VAR>)"
            )
        return cls(scheme=match.group(1), name=match.group(2))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.scheme}:{self.name}"


def _ref(value: object) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    return SecretRef.parse(str(value))


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AwsSettings(Frozen):
    account_id: str = Field(pattern=r"^\d{12}$")
    region: str = "us-east-1"


class AirflowSettings(Frozen):
    target: Literal["local", "mwaa", "ecs"]
    mwaa_environment: str | None = None
    dags_s3_uri: str | None = None
    dags_folder: str | None = None


class WarehouseSettings(Frozen):
    type: Literal["duckdb", "snowflake"]
    path: str | None = None
    account: str | None = None
    database: str
    warehouse: str | None = None
    role: str | None = None
    user: str | None = None
    password_secret: SecretRef | None = None
    private_key_secret: SecretRef | None = None

    _refs = field_validator("password_secret", "private_key_secret", mode="before")(
        lambda v: None if v is None else _ref(v)
    )


class Connection(Frozen):
    type: Literal["postgres", "snowflake", "aws", "http"]
    secret: SecretRef

    _ref = field_validator("secret", mode="before")(lambda v: _ref(v))


class Approvals(Frozen):
    required_approvers: int = Field(ge=0, default=1)
    separation_of_duties: bool = True


class PromotionWindow(Frozen):
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    duration_minutes: int = Field(gt=0, le=24 * 60)
    timezone: str = "UTC"


SeverityName = Literal["error", "warning", "info"]


class DagBagSettings(Frozen):
    """What one DAG file may cost the validation parse (Airflow's import timeout, the probe's heap cap)."""

    import_timeout_s: float = Field(gt=0, le=3600, default=30.0)
    memory_mb: int = Field(ge=256, default=2048)


class ValidationSettings(Frozen):
    """Per-environment validation settings: severity overrides by check id (or ``prefix.*``), DagBag limits."""

    severities: dict[str, SeverityName] = Field(default_factory=dict)
    dagbag: DagBagSettings = DagBagSettings()


class PlatformConfig(Frozen):
    """One environment's config."""

    environment: Literal["dev", "staging", "prod"]
    aws: AwsSettings
    airflow: AirflowSettings
    warehouse: WarehouseSettings
    connections: dict[str, Connection]
    variables: dict[str, str]
    approvals: Approvals = Approvals()
    promotion_window: PromotionWindow | None = None
    validation: ValidationSettings = ValidationSettings()

    def iter_secret_refs(self) -> Iterator[SecretRef]:
        """Every secret reference in the config."""
        for ref in (self.warehouse.password_secret, self.warehouse.private_key_secret):
            if ref is not None:
                yield ref
        for connection in self.connections.values():
            yield connection.secret


def load_platform_config(path: Path) -> PlatformConfig:
    """Read and validate ``path``; raises ConfigError naming the file and the first bad field."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return PlatformConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(root)"
        raise ConfigError(f"{path}: {where}: {error['msg']}") from None
