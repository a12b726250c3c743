"""The core owns its side effects: doctor and drift ingestion audit themselves, whichever door calls them."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsight_release.diagnose.detection import drift_plan_path
from finsight_release.envs.environment import Environment
from finsight_release.errors import InvalidPlanError
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem

PLANS = Path(__file__).parent / "fixtures" / "terraform_plans"
DEV = Environment.DEV


@pytest.fixture
def system(tmp_path: Path) -> ReleaseSystem:
    return ReleaseSystem(load_settings(home=tmp_path / "home", actor="alice"))


def test_ingest_drift_writes_the_plan_and_audits_it(system: ReleaseSystem) -> None:
    entries = system.ingest_drift(DEV, PLANS / "hashicorp-terraform__show-json_drift.json")
    assert entries and drift_plan_path(system.settings.home, DEV).is_file()
    (event,) = system.audit.events(action="drift")
    assert (
        event["environment"] == "dev" and event["outcome"] == "drift" and event["actor"] == "alice"
    )
    assert event["details"]["resources"] == [e.address for e in entries]


def test_ingest_drift_refuses_a_non_plan_and_changes_nothing(system: ReleaseSystem) -> None:
    system.ingest_drift(DEV, PLANS / "hashicorp-terraform__equiv_drift_refresh_only.json")
    before = drift_plan_path(system.settings.home, DEV).read_bytes()
    with pytest.raises(InvalidPlanError):
        system.ingest_drift(DEV, PLANS / "checkov__corrupted_tfplan_STATE_NOT_PLAN.json")
    assert drift_plan_path(system.settings.home, DEV).read_bytes() == before
    assert len(system.audit.events(action="drift")) == 1


def test_doctor_audits_its_outcome(system: ReleaseSystem) -> None:
    report = system.doctor(DEV)
    assert not report.ok and report.failed_layer and report.failed_layer.layer == "artifacts"
    (event,) = system.audit.events(action="doctor")
    assert event["outcome"] == "failed" and event["details"]["failed_layer"] == "artifacts"
