"""Pre-deploy validation as blocking Dagster asset checks on the release artifact assets.

Each core check (``finsight_release.validate.registry``) is one blocking asset check on every
``release/<kind>`` asset it covers, named after the check id (``airflow.dagbag`` ->
``airflow_dagbag`` on ``release/airflow_dags``). The multi-asset check runs for the release id given
in its config (CI passes the id it just built through GraphQL's launchRun): it rebuilds the release's
exact tree from the store, runs the core validator once against what the environment runs now,
records the verdict the promotion gate reads, and reports each check's findings on each kind as
metadata. A check that crashed, or a finding about a check's whole run rather than one artifact,
fails on every kind the check covers.
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from finsight_release.assets.releases import KIND_LABEL, release_key
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.envs.environment import Environment
from finsight_release.validate.outcome_by_kind import outcomes_by_kind
from finsight_release.validate.registry import default_checks

MAX_LISTED_FINDINGS = 50


class ValidationCheckConfig(dg.Config):
    """The release to validate, and the environment it is validated for (its config; its release as base)."""

    release_id: str
    env: str = "prod"


def check_name(check_id: str) -> str:
    """The Dagster check name of a core check id (Dagster names allow no dots)."""
    return check_id.replace(".", "_")


def _specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            check_name(check.id),
            asset=release_key(kind),
            blocking=True,
            description=f"Pre-deploy check {check.id} on the {kind.value} artifacts of a release",
        )
        for check in default_checks()
        for kind in sorted(check.kinds, key=lambda k: k.value)
    ]


@dg.multi_asset_check(specs=_specs(), name="release_validation", can_subset=True)
def release_validation(
    context: dg.AssetCheckExecutionContext,
    config: ValidationCheckConfig,
    release_system: ReleaseSystemResource,
) -> Iterator[dg.AssetCheckResult]:
    """Validate the release of this partition; a check with an error finding on a kind fails there."""
    system = release_system.system()
    manifest = system.repo.get(config.release_id)
    env = Environment.parse(config.env)
    with tempfile.TemporaryDirectory(prefix="finsight-validate-") as tmp:
        tree = system.repo.materialize_tree(manifest, Path(tmp))
        report, verdict, _ = system.validate(env, tree)
    selected = {(key.asset_key, key.name) for key in context.selected_asset_check_keys}
    for outcome in outcomes_by_kind(report, manifest, default_checks()):
        key = release_key(outcome.kind)
        if (key, check_name(outcome.check_id)) not in selected:
            continue
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=check_name(outcome.check_id),
            passed=outcome.passed,
            metadata={
                "environment": str(env),
                "release_id": manifest.release_id,
                "status": outcome.status.value,
                "seconds": outcome.seconds,
                "errors": len(outcome.errors),
                "warnings": len(outcome.warnings),
                "findings": dg.MetadataValue.md(
                    "\n".join(f"- {f}" for f in outcome.findings[:MAX_LISTED_FINDINGS]) or "none"
                ),
                "verdict": "passed" if verdict.passed else "failed",
            },
            description=(
                f"{outcome.check_id} on {KIND_LABEL[outcome.kind]}: "
                f"{len(outcome.errors)} blocking findings"
            ),
        )
