"""A release judgement maps onto asset check evaluations the rollback sensor reads: one per dbt test,
one ``soda_contract`` per contracted asset, in the judged environment's partition, with the release id;
only a blocking failure has severity ERROR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from finsight_release.assets.judgement_checks import (
    CONTRACT_CHECK,
    asset_of,
    contract_assets,
    judgement_evaluations,
    judgement_run,
    release_contracts,
)
from finsight_release.assets.platform import ENVIRONMENTS
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.checks.results import CheckResult
from finsight_release.settings import REPO_ROOT


def result(kind: str, asset: str, name: str, passed: bool, **extra: object) -> CheckResult:
    return CheckResult.model_validate(
        {
            "name": name,
            "kind": kind,
            "asset": asset,
            "severity": "blocking",
            "passed": passed,
            "release_id": "r-2",
            "environment": "dev",
            **extra,
        }
    )


def by_key(results: list[CheckResult]) -> dict[dg.AssetCheckKey, dg.AssetCheckEvaluation]:
    return {dg.AssetCheckKey(e.asset_key, e.check_name): e for e in judgement_evaluations(results)}


def test_contract_results_group_per_asset_and_a_blocking_failure_is_an_error() -> None:
    evaluations = by_key(
        [
            result("contract", "analytics.agg_daily_payments", "row_count", False),
            result("contract", "analytics.agg_daily_payments", "schema", True),
            result("contract", "raw.payments__payments", "payment_id.duplicate", True),
            result("dbt_test", "analytics.fct_payments", "accepted_values_fct_payments_x", True),
        ]
    )
    failing = evaluations[dg.AssetCheckKey(dg.AssetKey(["agg_daily_payments"]), CONTRACT_CHECK)]
    assert not failing.passed and failing.severity == dg.AssetCheckSeverity.ERROR
    assert failing.partition == "dev" and failing.metadata["release_id"].value == "r-2"
    assert "row_count" in str(failing.metadata["failed"].value)
    raw = evaluations[dg.AssetCheckKey(dg.AssetKey(["raw", "payments__payments"]), CONTRACT_CHECK)]
    assert raw.passed and raw.metadata["checks"].value == 1
    test = evaluations[
        dg.AssetCheckKey(dg.AssetKey(["fct_payments"]), "accepted_values_fct_payments_x")
    ]
    assert test.passed
    assert len(evaluations) == 3  # freshness and the like are not mapped here


def test_warnings_and_inconclusive_results_never_have_error_severity() -> None:
    evaluations = by_key(
        [
            result("contract", "analytics.fct_payments", "row_count", False, severity="warn"),
            result("dbt_test", "analytics.dim_accounts", "unique_x", False, inconclusive=True),
        ]
    )
    assert {e.severity for e in evaluations.values()} == {dg.AssetCheckSeverity.WARN}
    assert not any(e.passed for e in evaluations.values())


def test_every_contract_of_the_reference_platform_is_declared_on_its_asset() -> None:
    keys = contract_assets(REPO_ROOT)
    assert len(keys) == 21
    assert dg.AssetKey(["agg_daily_payments"]) in keys
    assert dg.AssetKey(["raw", "core_banking__accounts"]) in keys
    assert asset_of("analytics.fct_payments") == dg.AssetKey(["fct_payments"])


def test_the_contract_checks_are_partitioned_by_environment_and_judged_per_partition() -> None:
    assert {spec.partitions_def for spec in release_contracts.check_specs} == {ENVIRONMENTS}
    run = judgement_run("staging")
    assert run["tags"] == {"dagster/partition": "staging"}
    assert run["run_config"]["ops"]["release_contracts"]["config"]["env"] == "staging"


def _judge(tmp_path: Path, **run: Any) -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job("judge", selection=dg.AssetSelection.checks(release_contracts))
    defs = dg.Definitions(
        asset_checks=[release_contracts],
        jobs=[job],
        resources={"release_system": ReleaseSystemResource(home=str(tmp_path))},
    )
    return defs.resolve_job_def("judge").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, **run
    )


@pytest.mark.parametrize(
    ("run", "message"),
    [
        (
            {"run_config": {"ops": {"release_contracts": {"config": {"env": "dev"}}}}},
            "the run has no partition; launch it for the environment to judge",
        ),
        (
            {**judgement_run("dev"), "tags": {"dagster/partition": "prod"}},
            "config env 'dev' contradicts the run's partition 'prod'",
        ),
    ],
)
def test_a_judgement_without_its_partition_fails_with_one_clear_error(
    tmp_path: Path, run: dict[str, Any], message: str
) -> None:
    result = _judge(tmp_path, **run)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert message in str(failure.step_failure_data.error.message)
    assert result.get_asset_check_evaluations() == []
