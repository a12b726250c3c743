"""Standing detectors: infrastructure drift and live schema differences of an environment, and the gate
that holds back a release while such a finding touches what the release changes."""

from __future__ import annotations

from pathlib import Path

from finsight_release.envs.environment import Environment
from finsight_release.errors import InvalidPlanError
from finsight_release.release.changeset import ChangeClass, ChangeSet
from finsight_release.release.manifest import ReleaseManifest


def drift_plan_path(home: Path, env: Environment) -> Path:
    """Where `drift ingest` keeps the latest refresh-only plan of an environment."""
    return home / "drift" / str(env) / "refresh-plan.json"


def drift_findings(home: Path, env: Environment) -> list[str]:
    """Resources the latest refresh-only plan of ``env`` shows changed outside Terraform."""
    from finsight_release.validate.terraform_plan import plan_file_drift

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

    def check(self, env: Environment, manifest: ReleaseManifest, change_set: ChangeSet) -> str | None:
        classes = change_set.classes
        if ChangeClass.INFRA in classes and (drift := drift_findings(self.home, env)):
            return f"{len(drift)} resources drifted in {env} (first: {drift[0]}); reconcile before changing infra"
        if ChangeClass.DBT in classes and (diffs := schema_findings(self.warehouse_dir / f"{env}.duckdb", None)):
            return f"live schema of {env} differs from the contract ({diffs[0]}); fix the source before shipping dbt"
        return None
