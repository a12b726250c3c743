"""Materializations of the units a promotion or rollback switched: one asset per Spark job or topic.

``spark/<job>`` and ``streaming/<topic>`` are one asset per unit of the platform, not per environment;
each switch that changes a unit in an environment materializes it with that environment and the
release it now runs (data version: the unit's digest), whichever door the operation came through.
"""

from collections.abc import Callable, Iterator

import dagster as dg

from finsight_release.assets.releases import DATA_VERSION_TAG
from finsight_release.envs.environment import Environment
from finsight_release.envs.operation import OperationRecord
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.manifest import ReleaseManifest


def switched_materializations(
    env: Environment,
    manifest: ReleaseManifest,
    record: OperationRecord,
    kind: ArtifactKind,
    key: Callable[[str], dg.AssetKey],
) -> Iterator[dg.AssetMaterialization]:
    """For each artifact of ``kind`` that ``record`` switched in ``env``, a materialization of
    ``key(<last part of its name>)`` naming the environment and the release it now runs."""
    changed = record.change_set.changed_names
    for artifact in manifest.of_kind(kind):
        if artifact.name not in changed:
            continue
        yield dg.AssetMaterialization(
            asset_key=key(artifact.name.rsplit("/", 1)[-1]),
            tags={DATA_VERSION_TAG: artifact.digest},
            metadata={
                "environment": str(env),
                "release_id": manifest.release_id,
                "digest": artifact.digest,
                "operation": record.kind,
                "operation_id": record.id,
                "actor": record.actor,
            },
        )
