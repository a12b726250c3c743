"""The Dagster code location: it loads, its lineage runs release -> deployment -> platform, and its jobs
run the core and record what each environment runs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import build_release_job, promote_job, rollback_job
from finsight_release.envs.environment import Environment
from tests.mini_platform import make_platform


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from finsight_release.definitions import defs

    return defs


def test_lineage_release_to_deployment_to_platform(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    release, prod = dg.AssetKey(["release", "airflow_dags"]), dg.AssetKey(["prod", "airflow_dags"])
    source = dg.AssetKey(["raw", "core_banking__transactions"])
    assert {release, prod, source} <= keys
    assert release in graph.get(prod).parent_keys
    staging = dg.AssetKey(["staging", "airflow_dags"])
    assert staging in graph.get(prod).parent_keys  # dev -> staging -> prod
    assert dg.AssetKey(["dev", "airflow_dags"]) in graph.get(staging).parent_keys
    assert prod in graph.get(source).parent_keys
    staging = dg.AssetKey(["stg_core_banking__transactions"])
    assert source in graph.get(staging).parent_keys
    assert dg.AssetKey(["prod", "dbt_models"]) in graph.get(staging).parent_keys
    sources = [k for k in keys if k.path[0] == "raw"]
    models = [
        k
        for k in keys
        if graph.get(k).is_materializable and k.path[0] not in {"release", "dev", "staging", "prod"}
    ]
    assert 2400 <= len(sources) <= 2600
    assert len(models) == 40


def test_jobs_build_promote_rollback_record_deployments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    instance = dg.DagsterInstance.ephemeral()
    resource = ReleaseSystemResource(home=str(tmp_path / "home"), actor="ci-bot")
    resources = {"release_system": resource}

    def build(platform: Path) -> str:
        result = build_release_job.execute_in_process(
            run_config={"ops": {"build_release_op": {"config": {"platform": str(platform)}}}},
            resources=resources,
            instance=instance,
        )
        return str(result.output_for_node("build_release_op", "release_id"))

    v1 = build(make_platform(tmp_path / "p1", without="dbt_project"))
    assert v1 in instance.get_dynamic_partitions("releases")
    for env in ("dev", "staging", "prod"):
        promote_job.execute_in_process(
            run_config={"ops": {"promote_op": {"config": {"env": env, "release_id": v1}}}},
            resources=resources,
            instance=instance,
        )
        resource.system().judge(Environment.parse(env))  # health from the post-deploy checks
    v2 = build(
        make_platform(
            tmp_path / "p2", {"release_assets/airflow/dags/x.py": "x = 2\n"}, without="dbt_project"
        )
    )
    for env in ("dev", "staging", "prod"):
        promote_job.execute_in_process(
            run_config={"ops": {"promote_op": {"config": {"env": env, "release_id": v2}}}},
            resources=resources,
            instance=instance,
        )
        resource.system().judge(Environment.parse(env))  # health from the post-deploy checks
    rollback_job.execute_in_process(
        run_config={"ops": {"rollback_op": {"config": {"env": "prod"}}}},
        resources=resources,
        instance=instance,
    )
    event = instance.get_latest_materialization_event(dg.AssetKey(["prod", "airflow_dags"]))
    assert event and event.asset_materialization
    metadata = event.asset_materialization.metadata
    assert metadata["release_id"].value == v1 and metadata["operation"].value == "rollback"
    assert metadata["actor"].value == "ci-bot"
    released = instance.get_latest_materialization_event(dg.AssetKey(["release", "airflow_dags"]))
    assert (
        released
        and released.asset_materialization
        and released.asset_materialization.partition == v2
    )


def test_failed_promotion_fails_the_run(tmp_path: Path) -> None:
    resources = {"release_system": ReleaseSystemResource(home=str(tmp_path / "home"))}
    result = promote_job.execute_in_process(
        run_config={"ops": {"promote_op": {"config": {"env": "prod", "release_id": "r-unknown"}}}},
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success


def test_validation_checks_gate_prod(
    tmp_path: Path, defs: dg.Definitions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finsight_release.errors import PromotionRefusedError
    from finsight_release.validate.record import read_verdict

    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "prod")
    instance = dg.DagsterInstance.ephemeral()
    resource = ReleaseSystemResource(home=str(tmp_path / "home"))
    bad_plan = '{"format_version": "1.2", "resource_changes": [{"address": "aws_s3_bucket.raw", '
    bad_plan += '"type": "aws_s3_bucket", '
    bad_plan += '"change": {"actions": ["delete"], "before": {"bucket": "raw"}, "after": null}}]}'
    platform = make_platform(
        tmp_path / "p", {"release_assets/terraform/data_lake/plan.json": bad_plan}, without="dbt"
    )
    result = build_release_job.execute_in_process(
        run_config={"ops": {"build_release_op": {"config": {"platform": str(platform)}}}},
        resources={"release_system": resource},
        instance=instance,
    )
    release_id = str(result.output_for_node("build_release_op", "release_id"))
    job = defs.resolve_job_def("validate_release_job")
    checked = job.execute_in_process(
        instance=instance,
        resources={"release_system": resource},
        raise_on_error=False,
        run_config={
            "ops": {"release_validation": {"config": {"env": "prod", "release_id": release_id}}}
        },
    )
    evaluations = {
        (ev.asset_key.path[-1], ev.check_name): ev.passed
        for ev in checked.get_asset_check_evaluations()
    }
    assert evaluations[("terraform_stacks", "terraform_policy")] is False
    assert evaluations[("terraform_stacks", "terraform_drift")] is True
    assert evaluations[("stream_schemas", "streaming_compatibility")] is True
    assert evaluations[("env_config", "secrets_scan")] is True
    system = resource.system()
    verdict = read_verdict(system.repo.store, release_id, Environment.PROD)
    assert verdict and not verdict.passed
    for env in (Environment.DEV, Environment.STAGING):
        system.deployer.promote(env, release_id)
        system.judge(env)
    with pytest.raises(PromotionRefusedError, match="validation for prod failed"):
        system.deployer.promote(Environment.PROD, release_id)


def test_failed_run_is_diagnosed_tagged_and_audited(tmp_path: Path) -> None:
    from finsight_release.automation.sensors import diagnose_failed_runs

    instance = dg.DagsterInstance.ephemeral()
    resource = ReleaseSystemResource(home=str(tmp_path / "home"))
    result = promote_job.execute_in_process(
        run_config={"ops": {"promote_op": {"config": {"env": "dev", "release_id": "r-unknown"}}}},
        resources={"release_system": resource},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name=diagnose_failed_runs.name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=failure,
        resources={"release_system": resource},
    ).for_run_failure()
    diagnose_failed_runs(context)
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags["finsight/diagnosis"] in {"ci_pipeline", "config_secrets"}
    events = resource.system().audit.events(action="diagnose")
    assert events and events[0]["details"]["run_id"] == result.run_id


def test_drift_check_and_gate_hold_back_an_infra_change(
    tmp_path: Path, defs: dg.Definitions, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from finsight_release.diagnose.detection import drift_plan_path
    from finsight_release.errors import PromotionRefusedError
    from finsight_release.settings import REPO_ROOT

    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    resource = ReleaseSystemResource(home=str(tmp_path / "home"))
    system = resource.system()
    v1, _ = system.repo.build(make_platform(tmp_path / "p1", without="dbt"), "a")
    tf_change = {
        "release_assets/terraform/data_lake/main.tf": 'resource "aws_s3_bucket" "raw2" {}\n'
    }
    v2, _ = system.repo.build(make_platform(tmp_path / "p2", tf_change, without="dbt"), "a")
    system.deployer.promote(Environment.DEV, v1.release_id)
    plan = drift_plan_path(system.settings.home, Environment.DEV)
    plan.parent.mkdir(parents=True)
    shutil.copy(
        REPO_ROOT / "tests/fixtures/terraform_plans/hashicorp-terraform__show-json_drift.json", plan
    )
    result = defs.resolve_job_def("detection_checks_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        resources={"release_system": resource},
        raise_on_error=False,
    )
    by_key = {
        (e.asset_key.path[0], e.check_name): e.passed for e in result.get_asset_check_evaluations()
    }
    assert by_key[("dev", "no_infra_drift")] is False and by_key[("prod", "no_infra_drift")] is True
    with pytest.raises(PromotionRefusedError, match="gate detection: .* drifted in dev"):
        system.deployer.promote(Environment.DEV, v2.release_id)
    plan.unlink()
    system.deployer.promote(Environment.DEV, v2.release_id)


def test_diagnose_reads_a_dagster_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from finsight_release.cli import main

    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    with dg.DagsterInstance.get() as instance:
        result = promote_job.execute_in_process(
            run_config={"ops": {"promote_op": {"config": {"env": "qa", "release_id": "r-1"}}}},
            resources={"release_system": ReleaseSystemResource()},
            instance=instance,
            raise_on_error=False,
        )
    out = CliRunner().invoke(main, ["diagnose", result.run_id, "--json"])
    assert out.exit_code == 0, out.output
    assert '"category"' in out.output
    missing = CliRunner().invoke(main, ["diagnose", "00000000-0000-0000-0000-000000000000"])
    assert missing.exit_code != 0 and "no Dagster run" in missing.output
