"""The pipeline's promotion decisions and the environment-behind answer, on a real release system."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from finsight_release.envs.environment import Environment
from finsight_release.pipeline.behind import behind
from finsight_release.pipeline.next_promotion import PipelineView, decide
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from finsight_release.validate.record import record_verdict
from finsight_release.validate.runner import ValidationReport
from tests.mini_platform import make_platform

DEV, STAGING, PROD = Environment.DEV, Environment.STAGING, Environment.PROD
LATER = datetime.now(UTC) + timedelta(hours=1)


@pytest.fixture
def system(tmp_path: Path) -> ReleaseSystem:
    settings = load_settings(home=tmp_path / "home", require_validation=())
    return ReleaseSystem(settings)


def view(system: ReleaseSystem) -> PipelineView:
    return PipelineView(system.repo, system.board, system.deployer.ledger)


def built(system: ReleaseSystem, tmp_path: Path, name: str, validated: bool = True) -> str:
    overrides = {"release_assets/airflow/dags/ingest_core.py": f"# {name}\n"}
    tree = make_platform(tmp_path / name, overrides, without="dbt_project")
    manifest, _ = system.build(tree)
    report = ValidationReport(results=[])
    if validated:
        record_verdict(system.repo.store, manifest.release_id, DEV, report)
    return manifest.release_id


def test_dev_takes_the_newest_validated_release(system: ReleaseSystem, tmp_path: Path) -> None:
    assert decide(view(system), DEV, 0, LATER).reason == "no release has passed validation for dev"
    v1 = built(system, tmp_path, "v1")
    built(system, tmp_path, "v2-unvalidated", validated=False)
    decision = decide(view(system), DEV, 0, LATER)
    assert decision.promote and decision.release_id == v1
    system.deployer.promote(DEV, v1)
    assert not decide(view(system), DEV, 0, LATER).promote
    assert behind(view(system), DEV) is None


def test_a_release_found_unhealthy_in_dev_is_not_redeployed(
    system: ReleaseSystem, tmp_path: Path
) -> None:
    v1 = built(system, tmp_path, "v1")
    system.deployer.promote(DEV, v1)
    v2 = built(system, tmp_path, "v2")
    assert behind(view(system), DEV) is not None
    system.deployer.promote(DEV, v2)
    system.deployer.mark_health(DEV, v2, False, "fct_payments row count dropped 40%")
    system.deployer.rollback(DEV)
    decision = decide(view(system), DEV, 0, LATER)
    assert not decision.promote and "unhealthy in dev" in decision.reason


def test_staging_waits_for_health_and_bake_time_and_prod_for_a_person(
    system: ReleaseSystem, tmp_path: Path
) -> None:
    v1 = built(system, tmp_path, "v1")
    system.deployer.promote(DEV, v1)
    now = datetime.now(UTC)
    pending = decide(view(system), STAGING, 600, now + timedelta(seconds=601))
    assert not pending.promote and "awaiting its post-deploy checks" in pending.reason
    system.judge(DEV)  # no dbt project: no warehouse check judges it, so it passes
    waiting = decide(view(system), STAGING, 600, now)
    assert not waiting.promote and "bakes in dev until" in waiting.reason
    assert behind(view(system), STAGING) is not None
    ready = decide(view(system), STAGING, 600, now + timedelta(seconds=601))
    assert ready.promote and ready.release_id == v1
    system.deployer.promote(STAGING, v1)
    assert "person's command" in decide(view(system), PROD, 0, LATER).reason
    system.deployer.mark_health(STAGING, v1, False, "freshness check failed")
    assert behind(view(system), PROD) is None  # unhealthy in staging: nothing passed it
