"""Pre-deploy validation as blocking Dagster asset checks on the release artifact assets.

One check per artifact kind, run for the release id given in its config (CI passes the id it
just built through GraphQL's launchRun). The check rebuilds the release's
exact tree from the store, runs the core validator against what the environment runs now, records
the verdict the promotion gate reads, and reports each kind's findings as metadata.
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from finsight_release.assets.releases import KIND_LABEL, release_key
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import ArtifactKind

CHECK_NAME = "pre_deploy_validation"


class ValidationCheckConfig(dg.Config):
    """The release to validate, and the environment it is validated for (its config; its release as base)."""

    release_id: str
    env: str = "prod"


def _spec(kind: ArtifactKind) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        CHECK_NAME,
        asset=release_key(kind),
        blocking=True,
        description=f"Pre-deploy validation of the {kind.value} artifacts of a release",
    )


@dg.multi_asset_check(specs=[_spec(kind) for kind in ArtifactKind], name="release_validation", can_subset=True)
def release_validation(
    context: dg.AssetCheckExecutionContext, config: ValidationCheckConfig, release_system: ReleaseSystemResource
) -> Iterator[dg.AssetCheckResult]:
    """Validate the release of this partition; a kind with an error finding fails its check."""
    system = release_system.system()
    manifest = system.repo.get(config.release_id)
    env = Environment.parse(config.env)
    with tempfile.TemporaryDirectory(prefix="finsight-validate-") as tmp:
        tree = system.repo.materialize_tree(manifest, Path(tmp))
        report, verdict, _ = system.validate(env, tree)
    by_artifact: dict[str, list[str]] = {}
    for finding in report.findings:
        by_artifact.setdefault(finding.artifact, []).append(str(finding))
    selected = {key.asset_key for key in context.selected_asset_check_keys}
    for kind in ArtifactKind:
        if release_key(kind) not in selected:
            continue
        names = [a.name for a in manifest.of_kind(kind)]
        findings = [f for f in report.findings if f.artifact in names]
        errors = [str(f) for f in findings if f.severity.is_blocking]
        yield dg.AssetCheckResult(
            asset_key=release_key(kind),
            check_name=CHECK_NAME,
            passed=not errors,
            metadata={
                "environment": str(env),
                "release_id": manifest.release_id,
                "errors": len(errors),
                "warnings": sum(1 for f in findings if f.severity == "warning"),
                "findings": dg.MetadataValue.md("\n".join(f"- {f}" for f in map(str, findings[:50])) or "none"),
                "verdict": "passed" if verdict.passed else "failed",
            },
            description=f"{KIND_LABEL[kind]}: {len(errors)} blocking findings",
        )
