"""Where state lives and which resource set is used, read from the environment at call time.

One setting, ``FINSIGHT_MODE``, picks the resource set: ``local`` (the embedded default: filesystem
store, DuckDB, SQLite) or ``aws`` (S3, Snowflake, Secrets Manager, CloudWatch, PostgreSQL).
"""

from __future__ import annotations

import os
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from finsight_release.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
DEFAULT_MAX_FILE_MB = 100.0
DEFAULT_MAX_RELEASE_MB = 2048.0


class Mode(StrEnum):
    """Which resource set the system runs on."""

    LOCAL = "local"
    AWS = "aws"


class SizeLimits(BaseModel):
    """Caps on what a release may contain: a larger file or tree is a mistake (a dump, a model, a
    virtualenv), never something to hash and ship."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_file_mb: float = DEFAULT_MAX_FILE_MB
    max_release_mb: float = DEFAULT_MAX_RELEASE_MB

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    @property
    def max_release_bytes(self) -> int:
        return int(self.max_release_mb * MB)


def _megabytes(name: str, default: float) -> float:
    """A positive size in MB from environment variable ``name``; ConfigError naming it when not one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number of megabytes, got {raw!r}")
    return value


def _positive_int(name: str, default: int) -> int:
    """A positive integer from environment variable ``name``; ConfigError naming it when not one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


def _timestamp(name: str) -> datetime | None:
    """An ISO 8601 time from environment variable ``name`` (empty: None); ConfigError when not one."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an ISO 8601 time, got {raw!r}") from None


def load_size_limits() -> SizeLimits:
    """Size caps from ``FINSIGHT_MAX_FILE_MB`` and ``FINSIGHT_MAX_RELEASE_MB`` (defaults 100 MB, 2 GB)."""
    return SizeLimits(
        max_file_mb=_megabytes("FINSIGHT_MAX_FILE_MB", DEFAULT_MAX_FILE_MB),
        max_release_mb=_megabytes("FINSIGHT_MAX_RELEASE_MB", DEFAULT_MAX_RELEASE_MB),
    )


class Settings(BaseModel):
    """Resolved settings; build with :func:`load_settings`, never at import time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode
    home: Path
    platform: Path
    store_url: str
    audit_url: str
    airflow_python: Path
    spark_python: Path
    airflow_dags_dir: Path
    warehouse_path: Path
    metrics_path: Path
    actor: str
    require_validation: tuple[str, ...] = ("prod",)
    bake_s: float = 1800.0
    size_limits: SizeLimits = SizeLimits()
    # A Slack-compatible incoming webhook for alerts (None: alerts are only logged). Its path is a
    # secret: it is never logged, and belongs in the environment (Secrets Manager in AWS mode).
    alert_webhook: str | None = None
    retain_releases: int = 5
    # Inconclusive post-deploy judgements of a release before its pipeline pauses for a person.
    check_attempts: int = 3
    # Spark jobs deployed as wheels + job definitions (targets/spark); off: only copied to the folders.
    spark_deploy: bool = True
    spark_artifacts_url: str = ""  # the Spark artifact location: a folder, or s3://bucket/prefix
    # The time post-deploy checks judge freshness against (None: now). The demo sets its synthetic
    # data's clock, whose loads end on a fixed date.
    checks_clock: datetime | None = None

    @property
    def is_aws(self) -> bool:
        return self.mode is Mode.AWS


def load_settings(**overrides: object) -> Settings:
    """Read settings from ``FINSIGHT_*`` environment variables, with local defaults.

    ``FINSIGHT_HOME`` (default ``./.finsight``) holds every piece of local state; the other paths
    default to places inside it, so one variable moves a whole installation.
    """
    env = os.environ
    # Paths derived from home follow an overridden home too, so one override moves an installation.
    home = Path(str(overrides.pop("home", None) or env.get("FINSIGHT_HOME", ".finsight"))).resolve()
    values: dict[str, object] = {
        "mode": Mode(env.get("FINSIGHT_MODE", "local")),
        "home": home,
        "platform": Path(env.get("FINSIGHT_PLATFORM", str(REPO_ROOT))).resolve(),
        "store_url": env.get("FINSIGHT_STORE_URL", str(home / "store")),
        "audit_url": env.get("FINSIGHT_AUDIT_URL", f"sqlite:///{home / 'audit.db'}"),
        "airflow_python": Path(
            env.get(
                "FINSIGHT_AIRFLOW_PYTHON", str(REPO_ROOT / ".venvs" / "airflow" / "bin" / "python")
            )
        ),
        "spark_python": Path(
            env.get("FINSIGHT_SPARK_PYTHON", str(REPO_ROOT / ".venvs" / "spark" / "bin" / "python"))
        ),
        "airflow_dags_dir": Path(env.get("FINSIGHT_AIRFLOW_DAGS_DIR", str(home / "airflow"))),
        "warehouse_path": Path(env.get("FINSIGHT_WAREHOUSE", str(home / "warehouse"))),
        "metrics_path": Path(env.get("FINSIGHT_METRICS_FILE", str(home / "metrics.jsonl"))),
        "actor": env.get("FINSIGHT_ACTOR")
        or env.get("GITHUB_ACTOR")
        or env.get("USER")
        or "unknown",
        "size_limits": load_size_limits(),
        "bake_s": float(env.get("FINSIGHT_BAKE_S", "1800")),
        "alert_webhook": env.get("FINSIGHT_ALERT_WEBHOOK") or None,
        "retain_releases": _positive_int("FINSIGHT_RETAIN_RELEASES", 5),
        "check_attempts": _positive_int("FINSIGHT_CHECK_ATTEMPTS", 3),
        "checks_clock": _timestamp("FINSIGHT_CHECKS_CLOCK"),
        "require_validation": tuple(
            e.strip()
            for e in env.get("FINSIGHT_REQUIRE_VALIDATION", "prod").split(",")
            if e.strip()
        ),
    }
    values["spark_deploy"] = env.get("FINSIGHT_SPARK_DEPLOY", "on").strip().lower() not in {
        "off",
        "0",
        "false",
    }
    values["spark_artifacts_url"] = env.get("FINSIGHT_SPARK_ARTIFACTS_URL") or (
        f"{values['store_url']}/spark-artifacts"
        if str(values["store_url"]).startswith("s3://")
        else str(home / "spark")
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
