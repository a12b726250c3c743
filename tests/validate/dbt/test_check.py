"""dbt validation on the real dbt-core: breaking changes with their blast radius, and a CI build."""

from __future__ import annotations

import shutil
from pathlib import Path

from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.dbt.check import DbtCheck


def test_breaking_changes_name_the_downstream_and_the_ci_build_fails(tmp_path: Path) -> None:
    base = tmp_path / "base" / "dbt_project"
    shutil.copytree(
        REPO_ROOT / "dbt_project", base, ignore=shutil.ignore_patterns("target", "logs")
    )
    new_root = tmp_path / "new"
    shutil.copytree(base, new_root / "dbt_project")
    contract = new_root / "dbt_project/models/marts/payments/_payments.yml"
    contract.write_text(contract.read_text().replace("data_type: bigint", "data_type: varchar", 1))
    dbt = [
        a
        for a in ReleaseRepository(LocalObjectStore(tmp_path / "s")).scan(new_root)
        if a.name == "dbt/project"
    ]
    ctx = ValidationContext(platform=new_root, base_dir=lambda name: base)
    findings = DbtCheck().run(ctx, dbt)
    messages = {f.check_id: [] for f in findings}
    for f in findings:
        messages[f.check_id].append(f.message)
    breaking = " | ".join(messages["dbt.breaking_change"])
    assert "fct_payments: column 'payment_id' type changed bigint -> varchar" in breaking
    assert any(
        "fct_payments" in m
        for m in messages.get("dbt.build", []) + messages.get("dbt.contract", [])
    )


def test_removed_model_lists_models_and_exposures_downstream() -> None:
    from finsight_release.validate.dbt.check import breaking_changes

    def model(name: str) -> dict:
        return {
            "resource_type": "model",
            "name": name,
            "contract": {"enforced": False},
            "columns": {},
        }

    base = {
        "nodes": {"model.f.stg": model("stg"), "model.f.mart": model("mart")},
        "child_map": {
            "model.f.stg": ["model.f.mart", "test.f.t1"],
            "model.f.mart": ["exposure.f.dashboard"],
        },
    }
    new = {"nodes": {"model.f.mart": model("mart")}, "child_map": {}}
    assert breaking_changes(base, new) == [
        ("stg", "model removed or renamed", ["dashboard", "mart"])
    ]
