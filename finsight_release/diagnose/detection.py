"""Standing detectors: infrastructure drift and live schema differences of an environment, and the gate
that holds back a release while such a finding touches what the release changes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from finsight_release.envs.environment import Environment
from finsight_release.errors import InvalidPlanError
from finsight_release.release.changeset import ChangeClass, ChangeSet
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.settings import Mode


def drift_plan_path(home: Path, env: Environment) -> Path:
    """Where `drift ingest` keeps the latest refresh-only plan of an environment."""
    return home / "drift" / str(env) / "refresh-plan.json"


def drift_findings(home: Path, env: Environment) -> list[str]:
    """Resources the latest refresh-only plan of ``env`` shows changed outside Terraform."""
    from finsight_release.validate.terraform.plan import plan_file_drift

    path = drift_plan_path(home, env)
    if not path.exists():
        return []
    try:
        return [entry.describe() for entry in plan_file_drift(path)]
    except InvalidPlanError as exc:
        return [f"latest refresh-only plan unreadable: {exc}"]


def schema_findings(warehouse: Path, project_dir: Path | None) -> list[str]:
    """Live schema differences of a local warehouse (none when it does not exist yet)."""
    from finsight_release.diagnose.schema_drift import live_schema_findings

    return live_schema_findings(warehouse, project_dir) if warehouse.exists() else []


class DetectionGate:
    """Refuses a promotion while drift touches an infra change, or a schema difference touches a dbt change."""

    name = "detection"

    def __init__(self, home: Path, warehouse_dir: Path) -> None:
        self.home = home
        self.warehouse_dir = warehouse_dir

    def check(
        self, env: Environment, manifest: ReleaseManifest, change_set: ChangeSet
    ) -> str | None:
        classes = change_set.classes
        if ChangeClass.INFRA in classes and (drift := drift_findings(self.home, env)):
            return f"{len(drift)} resources drifted in {env} (first: {drift[0]}); reconcile before changing infra"
        if ChangeClass.DBT in classes and (
            diffs := schema_findings(self.warehouse_dir / f"{env}.duckdb", None)
        ):
            return f"live schema of {env} differs from the contract ({diffs[0]}); fix the source before shipping dbt"
        return None


def credential_findings(
    refs: list[str], mode: Mode, max_age_days: int = 90, now: datetime | None = None
) -> list[str]:
    """Secrets (``aws-sm:`` references) that are missing, overdue for rotation or older than ``max_age_days``.

    Only metadata is read (``describe_secret``); ``env:`` references have no age to check. Secrets Manager is
    asked only in AWS mode or at an explicit endpoint.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from finsight_release.validate.config.check import aws_checkable
    from finsight_release.validate.secrets.refs import secrets_manager_client

    names = [ref.removeprefix("aws-sm:") for ref in refs if ref.startswith("aws-sm:")]
    if not names or not aws_checkable(mode):
        return []
    now = now or datetime.now(UTC)
    client, problems = secrets_manager_client(), []
    for name in names:
        try:
            meta = client.describe_secret(SecretId=name)
        except (ClientError, BotoCoreError) as exc:
            problems.append(f"{name}: cannot describe ({str(exc).splitlines()[0]})")
            continue
        changed = (
            meta.get("LastRotatedDate") or meta.get("LastChangedDate") or meta.get("CreatedDate")
        )
        due = meta.get("NextRotationDate")
        if due is not None and due < now:
            problems.append(f"{name}: rotation overdue since {due:%Y-%m-%d}")
        elif changed is not None and (now - changed).days > max_age_days:
            rotation = "rotation enabled" if meta.get("RotationEnabled") else "rotation not enabled"
            problems.append(
                f"{name}: last rotated {(now - changed).days} days ago (> {max_age_days}; {rotation})"
            )
    return problems
