"""A changed mart's data diff rides on the release's validation report and on the Dagster
materialization of its deployment, whichever door the promotion came through (issue 15, part 4);
the contract check ``release_contracts`` judges what an environment publishes."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.instance_recorder import InstanceRecorder
from finsight_release.assets.judgement_checks import judgement_run, release_contracts
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import promote_job
from finsight_release.envs.environment import Environment
from finsight_release.system import ReleaseSystem
from tests.mini_platform import make_platform
from tests.targets.warehouse_project import PROJECT

FCT = "dbt_project/models/marts/fct_payments.sql"
SHRINKING = {FCT: PROJECT[FCT] + "where p.payment_id % 10 <> 0\n"}  # 60 of 600 payments gone
# A Soda contract on the published mart, judged after each promotion (``release_contracts``).
CONTRACT = {
    "dbt_project/contracts/fct_payments.yml": (
        "dataset: finsight/analytics_marts_x/fct_payments\ncolumns:\n- name: payment_id\n"
        "  checks:\n  - missing:\n  - duplicate:\nchecks:\n- row_count:\n    threshold:\n"
        "      must_be_greater_than: 0\n"
    )
}


def diff_table(instance: dg.DagsterInstance, env: Environment) -> str:
    event = instance.get_latest_materialization_event(dg.AssetKey([str(env), "dbt_models"]))
    assert event and event.asset_materialization
    return str(event.asset_materialization.metadata["data_diff"].value)


@pytest.mark.slow
def test_the_diff_is_on_the_deployment_materialization_and_the_validation_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    resource = ReleaseSystemResource(home=str(tmp_path / "home"))
    system: ReleaseSystem = resource.system()
    instance = dg.DagsterInstance.ephemeral()
    recorder = InstanceRecorder(tmp_path / "dagster", data_diffs=system.data_diffs)
    system.observers.append(recorder)
    v1, _ = system.build(make_platform(tmp_path / "v1", {**PROJECT, **CONTRACT}))
    v2_tree = make_platform(tmp_path / "v2", {**PROJECT, **CONTRACT, **SHRINKING})
    v2, _ = system.build(v2_tree)

    # The CLI's door: the recorder puts the diff on dev/dbt_models.
    system.promote(Environment.DEV, v1.release_id)
    assert system.judge(Environment.DEV).healthy  # staging takes what is healthy in dev
    system.promote(Environment.STAGING, v1.release_id)
    system.promote(Environment.DEV, v2.release_id)
    assert system.judge(Environment.DEV).healthy
    (dev,) = system.data_diffs(v2.release_id)
    assert dev.environment == "dev" and dev.diff.model == "fct_payments"
    assert (dev.diff.rows_live, dev.diff.rows_new) == (600, 540)  # no primary key: no key delta
    assert "| fct_payments | 600 -> 540 | - | within limits |" in diff_table(
        recorder.instance, Environment.DEV
    )

    # Dagster's door: promote_job puts it on staging/dbt_models.
    result = promote_job.execute_in_process(
        run_config={
            "ops": {"promote_op": {"config": {"env": "staging", "release_id": v2.release_id}}}
        },
        instance=instance,
        resources={"release_system": resource},
    )
    assert result.success
    assert "| fct_payments | 600 -> 540 |" in diff_table(instance, Environment.STAGING)
    assert [d.environment for d in system.data_diffs(v2.release_id)] == ["dev", "staging"]

    # The validation report of the release carries the diffs measured where it was prepared.
    report, _, _ = system.validate(Environment.PROD, v2_tree)
    assert [(d.environment, d.diff.model) for d in report.data_diffs] == [
        ("dev", "fct_payments"),
        ("staging", "fct_payments"),
    ]
    # The contract check, run as Dagster runs it, judges what dev publishes: v2, with its id.
    judge = dg.define_asset_job("judge", selection=dg.AssetSelection.checks(release_contracts))
    defs = dg.Definitions(
        asset_checks=[release_contracts], jobs=[judge], resources={"release_system": resource}
    )
    run = defs.resolve_job_def("judge").execute_in_process(
        **judgement_run("dev"), instance=instance
    )
    (evaluation,) = run.get_asset_check_evaluations()
    assert evaluation.asset_key == dg.AssetKey(["fct_payments"]) and evaluation.passed
    assert evaluation.partition == "dev"  # the check is partitioned by environment, like the mart
    assert evaluation.metadata["release_id"].value == v2.release_id
    assert evaluation.metadata["checks"].value == 3  # row count, missing and duplicate ids
    # A release never prepared anywhere has none, and no warehouse is created to say so.
    assert system.data_diffs("r-unknown") == []
    assert not system.warehouse_target.database(Environment.PROD).exists()
