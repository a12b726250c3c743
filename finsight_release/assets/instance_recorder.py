"""Records what the CLI (and the demo) did in a Dagster instance, so the UI shows it too.

A build registers the release partition and materializes its ``release/<kind>`` assets; a promotion,
rollback or takeover materializes the ``<env>/<kind>`` assets with the release the environment now
runs; a validation reports each check's result per kind on the ``release/<kind>`` assets (the same
checks ``validate_release_job`` runs). Runs of this code location's jobs record themselves: the
recorder is only for the doors that bypass Dagster.

The instance is ``$DAGSTER_HOME`` when set, else ``$FINSIGHT_HOME/dagster`` (the demo's); open the UI on
it with ``DAGSTER_HOME=<that folder> dagster dev``.
"""

import os
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from finsight_release.assets.checks import check_name
from finsight_release.assets.model_deployments import model_materializations
from finsight_release.assets.releases import (
    RELEASES_PARTITION,
    deployment_materializations,
    release_key,
    release_materializations,
)
from finsight_release.assets.spark_jobs import spark_job_materializations
from finsight_release.assets.streaming import topic_materializations
from finsight_release.envs.environment import Environment
from finsight_release.envs.operation import OperationRecord
from finsight_release.observe.dora import DoraReport, dora_metadata
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.targets.data_diff import EnvironmentDiff
from finsight_release.targets.environment_models import EnvironmentModels
from finsight_release.validate.outcome_by_kind import outcomes_by_kind
from finsight_release.validate.record import ValidationVerdict
from finsight_release.validate.registry import default_checks
from finsight_release.validate.runner import ValidationReport

# Reads the data diffs of a release in environments: ReleaseSystem.data_diffs.
DataDiffs = Callable[[str, list[Environment]], list[EnvironmentDiff]]


def instance_home(finsight_home: Path) -> Path:
    """The Dagster instance folder the CLI records into: ``$DAGSTER_HOME``, else under FINSIGHT_HOME."""
    return Path(os.environ.get("DAGSTER_HOME") or finsight_home / "dagster")


class InstanceRecorder:
    """An operation observer writing runless asset events into a Dagster instance."""

    def __init__(
        self,
        home: Path,
        data_diffs: DataDiffs | None = None,
        dora: Callable[[], DoraReport] | None = None,
    ) -> None:
        """``data_diffs``: where a deployment's data diffs are read (``ReleaseSystem.data_diffs``),
        put on the ``<env>/dbt_models`` materialization; ``dora``: the DORA report
        (``ReleaseSystem.dora``) whose week for the environment rides on each deployment, as
        ``promote_job`` and ``rollback_job`` put it, so the UI plots CLI deployments too."""
        home.mkdir(parents=True, exist_ok=True)
        self.instance = dg.DagsterInstance.from_config(str(home))
        self.data_diffs = data_diffs
        self.dora = dora

    def built(self, manifest: ReleaseManifest) -> None:
        self.instance.add_dynamic_partitions(RELEASES_PARTITION, [manifest.release_id])
        for materialization in release_materializations(manifest):
            self.instance.report_runless_asset_event(materialization)

    def deployed(
        self, env: Environment, manifest: ReleaseManifest, record: OperationRecord
    ) -> None:
        summary = record.change_set.summary()
        diffs = self.data_diffs(manifest.release_id, [env]) if self.data_diffs else []
        dora = dora_metadata(self.dora(), str(env)) if self.dora else None
        for materialization in deployment_materializations(
            env, manifest, record.actor, record.kind, summary, dora, diffs=diffs
        ):
            self.instance.report_runless_asset_event(materialization)
        for materialization in spark_job_materializations(env, manifest, record):
            self.instance.report_runless_asset_event(materialization)
        for materialization in topic_materializations(env, manifest, record):
            self.instance.report_runless_asset_event(materialization)

    def models_deployed(self, models: EnvironmentModels, record: OperationRecord) -> None:
        """Each model ``models.environment`` now runs, in its partition (release, fingerprint)."""
        for materialization in model_materializations(models, record):
            self.instance.report_runless_asset_event(materialization)

    def validated(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        report: ValidationReport,
        verdict: ValidationVerdict,
    ) -> None:
        for outcome in outcomes_by_kind(report, manifest, default_checks()):
            self.instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(
                    asset_key=release_key(outcome.kind),
                    check_name=check_name(outcome.check_id),
                    passed=outcome.passed,
                    metadata={
                        "release_id": manifest.release_id,
                        "environment": str(env),
                        "errors": len(outcome.errors),
                        "warnings": len(outcome.warnings),
                        "verdict": "passed" if verdict.passed else "failed",
                    },
                )
            )
