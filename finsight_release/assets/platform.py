# No `from __future__ import annotations`: Dagster inspects the asset function annotations at runtime.
"""The platform's own assets: dbt models (dagster-dbt) and the source tables Airflow DAGs load.

Source tables are declared from the DAG factory's YAML source definitions and mapped to the DAG
that loads them with dagster-airlift's ``assets_with_dag_mappings`` (so an Airflow instance, once
connected, reports their materializations). dbt sources resolve to the same ``raw/<table>`` keys,
which gives the lineage source table -> staging -> intermediate -> marts. Both hang off the prod
deployment assets, so a release's artifacts lead down to what they produce.

Environments are a static partition dimension (``dev``, ``staging``, ``prod``) of the models and the
source tables, not copies of them: partition ``staging`` of ``fct_payments`` is the model version
staging's warehouse runs. Materializing a model for a partition runs ``dbt build`` of the release
that environment publishes (its project copy, its DuckDB file, its physical relations:
``targets.environment_models``), so it refreshes exactly the versions deployed there; a promotion
records one materialization per model it deployed, with the release id and fingerprint.
"""

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster_airlift.core import assets_with_dag_mappings
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from finsight_release.assets.raw_observations import SAFE_LOADER
from finsight_release.assets.releases import deployment_key
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import ArtifactKind
from finsight_release.settings import load_settings

SOURCES_DIR = Path("release_assets/airflow/dags/sources")
DBT_DIR = Path("dbt_project")
# The environment dimension of the platform assets: one partition per environment, not copies.
ENVIRONMENTS = dg.StaticPartitionsDefinition([str(env) for env in Environment])


def ingest_dag_id(source: str, group: str) -> str:
    """The DAG id the factory gives a source group (see release_assets/airflow/dags)."""
    return f"ingest_{source}__{group}"


def source_table_specs(platform: Path) -> list[dg.AssetSpec | dg.AssetsDefinition]:
    """One spec per source table in the YAML definitions, mapped to its ingestion DAG."""
    mappings: dict[str, list[dg.AssetSpec]] = {}
    for path in sorted((platform / SOURCES_DIR).glob("*.yaml")):
        doc = yaml.load(path.read_text(), Loader=SAFE_LOADER) or {}
        source = doc.get("source", path.stem)
        for group, spec in (doc.get("groups") or {}).items():
            dag_id = ingest_dag_id(source, group)
            mappings[dag_id] = [
                dg.AssetSpec(
                    dg.AssetKey(["raw", f"{source}__{table}"]),
                    deps=[deployment_key(Environment.PROD, ArtifactKind.AIRFLOW_DAGS)],
                    partitions_def=ENVIRONMENTS,
                    group_name=f"source_{source}",
                    kinds={"airflow", "snowflake"},
                    owners=[f"team:{doc['owner']}"] if doc.get("owner") else [],
                    metadata={
                        "source_kind": doc.get("kind", ""),
                        "primary_key": ",".join(t.get("primary_key", [])),
                    },
                    description=f"{source}.{table}, loaded by Airflow DAG {dag_id}",
                )
                for table, t in (spec.get("tables") or {}).items()
            ]
    return list(assets_with_dag_mappings(mappings))


class PlatformDbtTranslator(DagsterDbtTranslator):
    """dbt sources map to ``raw/<table>``; every model depends on the prod dbt deployment; each dbt
    test is a check partitioned by environment, like the model it tests."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(
                ["raw", f"{dbt_resource_props['source_name']}__{dbt_resource_props['name']}"]
            )
        return super().get_asset_key(dbt_resource_props)

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("model."):
            deployed = deployment_key(Environment.PROD, ArtifactKind.DBT_PROJECT)
            spec = spec.merge_attributes(deps=[deployed])
        return spec

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        return spec._replace(partitions_def=ENVIRONMENTS) if spec is not None else None


def dbt_project(platform: Path) -> DbtProject:
    """The platform's dbt project, parsed once so the manifest exists for the definitions."""
    project = DbtProject(project_dir=platform / DBT_DIR, profiles_dir=platform / DBT_DIR)
    if not project.manifest_path.exists():
        from finsight_release.reference.dbt_runner import dbt_parse

        dbt_parse(project.project_dir, project.manifest_path.parent)
    return project


def dbt_model_assets(platform: Path) -> Sequence[dg.AssetsDefinition]:
    """The dbt models as assets partitioned by environment, built against that environment's
    warehouse: the release it publishes, its DuckDB file, its physical relations."""
    project = dbt_project(platform)

    @dbt_assets(
        manifest=project.manifest_path,
        dagster_dbt_translator=PlatformDbtTranslator(),
        partitions_def=ENVIRONMENTS,
    )
    def finsight_dbt_models(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        release_system: ReleaseSystemResource,
    ) -> Iterator[Any]:
        yield from build_in_environment(context, dbt, release_system)

    return [finsight_dbt_models]


def build_in_environment(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, release_system: ReleaseSystemResource
) -> Iterator[Any]:
    """``dbt build`` of the selected models in the partition's environment; each output carries the
    environment, the release it runs and the model's fingerprint."""
    from finsight_release.targets.environment_models import environment_models
    from finsight_release.targets.warehouse import PUBLISHED_SCHEMA

    env = Environment.parse(context.partition_key)
    deployed = environment_models(release_system.system().warehouse_target, env)
    by_id = {m.unique_id: m for m in deployed.models()}
    with tempfile.TemporaryDirectory(prefix=f"finsight-dbt-{env}-") as scratch:
        runner = DbtCliResource(
            project_dir=str(deployed.project),
            profiles_dir=str(deployed.write_profiles(Path(scratch), PUBLISHED_SCHEMA)),
            dbt_executable=dbt.dbt_executable,
        )
        invocation = runner.cli(
            ["build", "--vars", json.dumps(deployed.dbt_vars())],
            context=context,
            target_path=Path(scratch) / "target",
        )
        for event in invocation.stream():
            unique_id = getattr(event, "metadata", {}).get("unique_id")
            model = by_id.get(str(getattr(unique_id, "value", unique_id)))
            if isinstance(event, dg.Output) and model is not None:
                event = event.with_metadata(
                    {
                        **event.metadata,
                        "environment": str(env),
                        "release_id": deployed.release_id,
                        "fingerprint": model.fingerprint,
                        "physical_relation": model.physical,
                    }
                )
            yield event


def platform_assets() -> list[Any]:
    """Source tables and dbt models of the configured platform tree."""
    platform = load_settings().platform
    assets: list[Any] = []
    if (platform / SOURCES_DIR).is_dir():
        assets += source_table_specs(platform)
    if (platform / DBT_DIR / "dbt_project.yml").is_file():
        assets += dbt_model_assets(platform)
    return assets


def platform_resources() -> dict[str, Any]:
    """The dbt CLI resource: the executable and the platform's project; each build points it at an
    environment's project copy and DuckDB file (:func:`build_in_environment`)."""
    settings = load_settings()
    from finsight_release.reference.dbt_runner import dbt_executable

    project = str(settings.platform / DBT_DIR)
    return {
        "dbt": DbtCliResource(
            project_dir=project, profiles_dir=project, dbt_executable=dbt_executable()
        )
    }
