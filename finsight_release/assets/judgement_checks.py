# No `from __future__ import annotations`: Dagster resolves op config types from live annotations.
"""The post-deploy judgement of a release (``ReleaseSystem.judge``) as asset check evaluations.

dbt tests are dagster-dbt's checks on the model assets (``agg_daily_payments`` /
``<test name>``); each Soda data contract is the blocking check ``soda_contract`` on the asset it
verifies (a mart's model asset, or ``raw/<table>``), declared here so the UI lists it and the
rollback sensor reads it. Every evaluation carries the release id and environment it judged; a
blocking failure has severity ERROR (``rollback_on_failed_checks`` acts on it), a warning or an
inconclusive result WARN (it never rolls back). The platform assets are partitioned by environment:
an evaluation is of the judged environment's partition.
"""

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from finsight_release.assets.platform import ENVIRONMENTS
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.checks.results import CheckResult
from finsight_release.envs.environment import Environment
from finsight_release.settings import load_settings

CONTRACT_CHECK = "soda_contract"
CONTRACTS_DIR = Path("dbt_project/contracts")
MAX_LISTED = 20


def asset_of(published: str) -> dg.AssetKey:
    """The asset a judged relation is: ``analytics.<model>`` -> ``<model>``, ``raw.<t>`` -> ``raw/<t>``."""
    schema, _, name = published.rpartition(".")
    return dg.AssetKey(["raw", name]) if schema == "raw" else dg.AssetKey([name])


def contract_assets(platform: Path) -> list[dg.AssetKey]:
    """The asset each contract of the platform's dbt project verifies (``dataset: finsight/<s>/<t>``)."""
    keys = []
    for path in sorted((platform / CONTRACTS_DIR).glob("*.yml")):
        dataset = str((yaml.safe_load(path.read_text()) or {}).get("dataset", ""))
        parts = dataset.split("/")
        if len(parts) == 3:
            keys.append(asset_of(f"{parts[1]}.{parts[2]}"))
    return keys


def _severity(results: list[CheckResult]) -> dg.AssetCheckSeverity:
    return (
        dg.AssetCheckSeverity.ERROR
        if any(r.blocks for r in results)
        else dg.AssetCheckSeverity.WARN
    )


def _metadata(results: list[CheckResult]) -> dict[str, dg.MetadataValue]:
    failed = [r for r in results if not r.passed]
    listed = "\n".join(f"- {r.line()}" for r in failed[:MAX_LISTED]) or "none"
    return {
        "release_id": dg.MetadataValue.text(results[0].release_id),
        "environment": dg.MetadataValue.text(results[0].environment),
        "checks": dg.MetadataValue.int(len(results)),
        "failed": dg.MetadataValue.md(listed),
    }


def judgement_evaluations(results: list[CheckResult]) -> Iterator[dg.AssetCheckEvaluation]:
    """One evaluation per dbt test, one ``soda_contract`` evaluation per contracted asset."""
    contracts: dict[dg.AssetKey, list[CheckResult]] = defaultdict(list)
    for result in results:
        if result.kind == "contract":
            contracts[asset_of(result.asset)].append(result)
        elif result.kind == "dbt_test":
            yield dg.AssetCheckEvaluation(
                asset_key=asset_of(result.asset),
                check_name=result.name,
                passed=result.passed,
                severity=_severity([result]),
                metadata=_metadata([result]),
                description=result.line()[:500],
                partition=result.environment,
            )
    for key, group in contracts.items():
        yield dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=CONTRACT_CHECK,
            passed=all(r.passed for r in group),
            severity=_severity(group),
            metadata=_metadata(group),
            partition=group[0].environment,
        )


class JudgementConfig(dg.Config):
    """Judge what ``env`` publishes (empty: the run's partition, ``dagster/partition``, which it
    must equal); ``now`` (ISO 8601, empty: the clock) is what freshness reads."""

    env: str = ""
    now: str = ""


def judgement_run(env: str) -> dict[str, Any]:
    """The run config and tags of a judgement of ``env``: its partition (the check specs are
    partitioned by environment) and the same environment in config."""
    return {
        "run_config": {"ops": {"release_contracts": {"config": {"env": env}}}},
        "tags": {"dagster/partition": env},
    }


def judged_environment(context: dg.AssetCheckExecutionContext, config: JudgementConfig) -> str:
    """The environment a judgement run is for: its partition (the checks are partitioned by
    environment, so Dagster records each result in it), which ``config.env`` may repeat but never
    contradict."""
    op_context = context.op_execution_context
    partition = op_context.partition_key if op_context.has_partition_key else ""
    if not partition:
        raise dg.Failure(
            "release_contracts: the run has no partition; launch it for the environment to judge "
            "(dev, staging or prod: tag dagster/partition)"
        )
    if config.env and config.env != partition:
        raise dg.Failure(
            f"release_contracts: config env {config.env!r} contradicts the run's partition "
            f"{partition!r}"
        )
    return partition


def _specs() -> list[dg.AssetCheckSpec]:
    platform = load_settings().platform
    return [
        dg.AssetCheckSpec(
            CONTRACT_CHECK,
            asset=key,
            blocking=True,
            partitions_def=ENVIRONMENTS,
            description="Soda data contract (dbt_project/contracts) on what the environment publishes",
        )
        for key in contract_assets(platform)
    ]


@dg.multi_asset_check(specs=_specs(), name="release_contracts", can_subset=True)
def release_contracts(
    context: dg.AssetCheckExecutionContext,
    config: JudgementConfig,
    release_system: ReleaseSystemResource,
) -> Iterator[dg.AssetCheckResult]:
    """Judge the release ``env`` runs (``ReleaseSystem.judge``) and report its Soda contracts."""
    # Imported here: automation.jobs imports this module.
    from finsight_release.automation.jobs import run_actor

    system = release_system.system(actor=run_actor(context.op_execution_context, release_system))
    now = datetime.fromisoformat(config.now) if config.now else None
    judgement = system.judge(Environment.parse(judged_environment(context, config)), now)
    selected = set(context.selected_asset_check_keys)
    for evaluation in judgement_evaluations(judgement.results):
        key = dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name)
        if evaluation.check_name != CONTRACT_CHECK or key not in selected:
            continue
        yield dg.AssetCheckResult(
            asset_key=evaluation.asset_key,
            check_name=evaluation.check_name,
            passed=evaluation.passed,
            severity=evaluation.severity,
            metadata=evaluation.metadata,
        )
