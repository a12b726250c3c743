"""Environment-behind checks: each ``<env>/<kind>`` asset says whether its environment runs the newest
release that passed the environment before it (validation, for dev). Behind is a warning, not a
failure: a release may be waiting for its bake time, an approval or the release window."""

from collections.abc import Iterator

import dagster as dg

from finsight_release.assets.releases import deployment_key
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.envs.environment import Environment
from finsight_release.pipeline.behind import behind, newest_passed_upstream
from finsight_release.release.artifact import ArtifactKind

CHECK_NAME = "runs_newest_passed_release"


def behind_check(env: Environment) -> dg.AssetChecksDefinition:
    """One non-blocking check on every ``<env>/<kind>`` asset, computed once per evaluation."""
    specs = [
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=deployment_key(env, kind),
            description=f"{env} runs the newest release that passed what comes before it",
        )
        for kind in ArtifactKind
    ]

    @dg.multi_asset_check(specs=specs, name=f"{env}_runs_newest_passed_release")
    def _check(release_system: ReleaseSystemResource) -> Iterator[dg.AssetCheckResult]:
        system = release_system.system()
        view = system.pipeline_view()
        reason = behind(view, env)
        newest = newest_passed_upstream(view, env) or ""
        current = system.board.read(env)[0].release_id or ""
        for kind in ArtifactKind:
            yield dg.AssetCheckResult(
                asset_key=deployment_key(env, kind),
                check_name=CHECK_NAME,
                passed=reason is None,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"runs": current, "newest_passed": newest},
                description=reason or f"{env} runs the newest release that passed before it",
            )

    return _check


pipeline_checks = [behind_check(env) for env in Environment]
