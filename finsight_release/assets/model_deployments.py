"""A promotion or rollback as materializations of the dbt model assets, in the environment's partition.

After an operation, each model the environment's warehouse now publishes is materialized in that
environment's partition with the release id, the model's fingerprint and the physical relation it
reads, so the UI shows per environment which release (and which model version) each model runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from finsight_release.envs.operation import OperationRecord
from finsight_release.targets.environment_models import DeployedModel, EnvironmentModels
from finsight_release.targets.warehouse import PUBLISHED_SCHEMA


def model_asset_key(model: DeployedModel) -> dg.AssetKey:
    """The model's asset key as dagster-dbt names it: its name, under its custom schema when it has
    one (which dbt's default schema naming publishes as ``<published schema>_<custom>``)."""
    schema = model.published.split(".", 1)[0]
    custom = schema.removeprefix(f"{PUBLISHED_SCHEMA}_") if schema != PUBLISHED_SCHEMA else ""
    return dg.AssetKey([custom, model.name] if custom and custom != schema else [model.name])


def model_materializations(
    models: EnvironmentModels,
    record: OperationRecord,
    built: Mapping[dg.AssetKey, Mapping[str, Any]] | None = None,
) -> list[dg.AssetMaterialization]:
    """One materialization per model ``models`` publishes, in partition ``models.environment``; a
    model the operation's own dbt build made carries dagster-dbt's metadata from ``built``."""
    changed = set(record.change_set.changed_names)
    built = built or {}
    return [
        dg.AssetMaterialization(
            asset_key=model_asset_key(model),
            partition=models.environment,
            description=f"{models.environment} runs {model.name}@{model.fingerprint[:12]} "
            f"of {models.release_id} ({record.kind} {record.id})",
            metadata={
                **built.get(model_asset_key(model), {}),
                "built_in_this_run": model_asset_key(model) in built,
                "environment": models.environment,
                "release_id": models.release_id,
                "fingerprint": model.fingerprint,
                "physical_relation": model.physical,
                "published_as": model.published,
                "operation": record.kind,
                "operation_id": record.id,
                "actor": record.actor,
                "dbt_changed": "dbt/project" in changed,
            },
        )
        for model in models.models()
    ]
