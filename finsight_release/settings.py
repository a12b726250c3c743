"""Where state lives and which resource set is used, read from the environment at call time.

One setting, ``FINSIGHT_MODE``, picks the resource set: ``local`` (the embedded default: filesystem
store, DuckDB, SQLite) or ``aws`` (S3, Snowflake, Secrets Manager, CloudWatch, PostgreSQL).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Mode(StrEnum):
    """Which resource set the system runs on."""

    LOCAL = "local"
    AWS = "aws"


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
            env.get("FINSIGHT_AIRFLOW_PYTHON", str(REPO_ROOT / ".venvs" / "airflow" / "bin" / "python"))
        ),
        "spark_python": Path(env.get("FINSIGHT_SPARK_PYTHON", str(REPO_ROOT / ".venvs" / "spark" / "bin" / "python"))),
        "airflow_dags_dir": Path(env.get("FINSIGHT_AIRFLOW_DAGS_DIR", str(home / "airflow"))),
        "warehouse_path": Path(env.get("FINSIGHT_WAREHOUSE", str(home / "warehouse"))),
        "metrics_path": Path(env.get("FINSIGHT_METRICS_FILE", str(home / "metrics.jsonl"))),
        "actor": env.get("FINSIGHT_ACTOR") or env.get("GITHUB_ACTOR") or env.get("USER") or "unknown",
        "require_validation": tuple(
            e.strip() for e in env.get("FINSIGHT_REQUIRE_VALIDATION", "prod").split(",") if e.strip()
        ),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
