"""Release artifacts and environment deployments as Dagster assets.

``release/<kind>`` assets are partitioned by release id (a dynamic partition): one materialization
per release, data version = the kind's digest. ``<env>/<kind>`` assets record which release each
environment runs: a materialization per promotion or rollback, data version = the deployed digest.
Lineage: release/<kind> -> dev|staging|prod/<kind> -> platform assets (dbt models, source tables).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.manifest import ReleaseManifest

if TYPE_CHECKING:
    from finsight_release.targets.data_diff import EnvironmentDiff

RELEASES_PARTITION = "releases"
releases_partitions = dg.DynamicPartitionsDefinition(name=RELEASES_PARTITION)

KIND_LABEL: dict[ArtifactKind, str] = {
    ArtifactKind.AIRFLOW_DAGS: "airflow_dags",
    ArtifactKind.AIRFLOW_REQUIREMENTS: "airflow_requirements",
    ArtifactKind.AIRFLOW_PLUGINS: "airflow_plugins",
    ArtifactKind.DBT_PROJECT: "dbt_models",
    ArtifactKind.SPARK_JOB: "spark_jobs",
    ArtifactKind.STREAM_SCHEMA: "stream_schemas",
    ArtifactKind.TERRAFORM_STACK: "terraform_stacks",
    ArtifactKind.ENV_CONFIG: "env_config",
    ArtifactKind.CONTAINER_IMAGE: "container_images",
}
DATA_VERSION_TAG = "dagster/data_version"


def release_key(kind: ArtifactKind) -> dg.AssetKey:
    return dg.AssetKey(["release", KIND_LABEL[kind]])


def deployment_key(env: Environment, kind: ArtifactKind) -> dg.AssetKey:
    return dg.AssetKey([str(env), KIND_LABEL[kind]])


def kind_digest(manifest: ReleaseManifest, kind: ArtifactKind) -> str | None:
    """One digest for all artifacts of ``kind`` in a release (None when it has none)."""
    artifacts = manifest.of_kind(kind)
    if not artifacts:
        return None
    if len(artifacts) == 1:
        return artifacts[0].digest
    h = hashlib.sha256("".join(f"{a.name}\0{a.digest}\n" for a in artifacts).encode())
    return h.hexdigest()


def release_specs() -> list[dg.AssetSpec]:
    """One partitioned spec per artifact kind."""
    return [
        dg.AssetSpec(
            release_key(kind),
            partitions_def=releases_partitions,
            group_name="releases",
            kinds={"finsight"},
            description=f"Release artifact: {kind.value} (content-addressed, partitioned by release id)",
        )
        for kind in ArtifactKind
    ]


def deployment_specs() -> list[dg.AssetSpec]:
    """One spec per environment and kind, downstream of the release artifact and of the environment
    a release must pass first (dev -> staging -> prod)."""
    return [
        dg.AssetSpec(
            deployment_key(env, kind),
            deps=[release_key(kind)]
            + ([deployment_key(env.upstream, kind)] if env.upstream else []),
            group_name=f"deploy_{env}",
            kinds={"finsight"},
            description=f"What {env} runs for {kind.value}: one materialization per promotion or rollback",
        )
        for env in Environment
        for kind in ArtifactKind
    ]


def release_materializations(manifest: ReleaseManifest) -> Iterator[dg.AssetMaterialization]:
    """Materializations of every artifact kind of a release, in its partition."""
    for kind in ArtifactKind:
        digest = kind_digest(manifest, kind)
        if digest is None:
            continue
        artifacts = manifest.of_kind(kind)
        yield dg.AssetMaterialization(
            asset_key=release_key(kind),
            partition=manifest.release_id,
            tags={DATA_VERSION_TAG: digest},
            metadata={
                "release_id": manifest.release_id,
                "digest": digest,
                "artifacts": dg.MetadataValue.json({a.name: a.digest for a in artifacts}),
                "files": sum(len(a.files) for a in artifacts),
                "git_sha": manifest.git_sha or "",
                "git_dirty": "unknown" if manifest.git_dirty is None else str(manifest.git_dirty),
                "author": manifest.author,
            },
        )


def deployment_materializations(
    env: Environment,
    manifest: ReleaseManifest,
    actor: str,
    operation: str,
    change_set: str,
    extra: Mapping[str, Any] | None = None,
    diffs: Sequence[EnvironmentDiff] = (),
) -> Iterator[dg.AssetMaterialization]:
    """Materializations recording that ``env`` now runs ``manifest`` for every kind (with ``extra``
    metadata, e.g. the environment's DORA metrics of the week); ``diffs``, the data diff of each
    model the release changed there, ride on the dbt models' materialization."""
    for kind in ArtifactKind:
        digest = kind_digest(manifest, kind)
        if digest is None:
            continue
        diff_metadata = data_diff_metadata(diffs) if kind is ArtifactKind.DBT_PROJECT else {}
        yield dg.AssetMaterialization(
            asset_key=deployment_key(env, kind),
            tags={DATA_VERSION_TAG: digest},
            metadata={
                "release_id": manifest.release_id,
                "digest": digest,
                "actor": actor,
                "operation": operation,
                "change_set": change_set,
                **(extra or {}),
                **diff_metadata,
            },
        )


def data_diff_metadata(diffs: Sequence[EnvironmentDiff]) -> dict[str, Any]:
    """The data diffs as metadata: a table to read (``data_diff``) and the full diffs as JSON."""
    if not diffs:
        return {}
    lines = ["| model | rows | keys | verdict |", "|---|---|---|---|"]
    for item in diffs:
        d = item.diff
        lines.append(
            f"| {d.model} | {d.rows_live} -> {d.rows_new} | {d.keys_change()} | {d.verdict()} |"
        )
    return {
        "data_diff": dg.MetadataValue.md("\n".join(lines)),
        "data_diff_json": dg.MetadataValue.json([item.model_dump(mode="json") for item in diffs]),
    }
