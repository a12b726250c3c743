"""``warehouse.preflight``: the target environment's warehouse would accept this deploy.

Runs when the dbt project or the target environment's config is validated (``ctx.env`` set; nothing to
check without one). Which warehouse: the deployer builds dbt into DuckDB (``<warehouse_dir>/<env>.duckdb``)
in local mode whatever the config says, and into Snowflake in AWS mode when the env config has
``warehouse.type: snowflake``. Findings are ``warehouse.<code>`` (see
:mod:`finsight_release.validate.warehouse.problem`). The warehouse lives outside the release, so the
check is never cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from finsight_release.envs.platform_config import ConfigError, PlatformConfig, load_platform_config
from finsight_release.reference.raw_schema import RAW_SCHEMA
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.layout import CONFIG_DIR, SINGLE_ARTIFACTS
from finsight_release.settings import Mode
from finsight_release.targets.warehouse import duckdb_file
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.config.check import config_env
from finsight_release.validate.dbt.sources import (
    DbtTarget,
    SourceReadError,
    SourceTable,
    source_tables,
)
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.secrets.refs import SecretResolver
from finsight_release.validate.warehouse import problem as codes
from finsight_release.validate.warehouse.duckdb_preflight import duckdb_preflight
from finsight_release.validate.warehouse.problem import WarehouseProblem
from finsight_release.validate.warehouse.snowflake_identity import deploy_identity, source_vars
from finsight_release.validate.warehouse.snowflake_preflight import Connect, snowflake_preflight

DBT_ARTIFACT = "dbt/project"
DBT_DIR = next(path for kind, _name, path in SINGLE_ARTIFACTS if kind is ArtifactKind.DBT_PROJECT)
# The local warehouse target seeds synthetic raw data into a file without schema ``raw``
# (DuckDbWarehouseTarget._ensure_raw_data), so an absent ``raw`` schema is not a failure there.
LOCAL_SEEDED_SCHEMAS = frozenset({RAW_SCHEMA})


class WarehousePreflightCheck(CheckDefaults):
    """The deploy identity connects, the warehouse and database exist and resume, and it holds what the
    dbt project needs (create schema/table/view, read every raw source table)."""

    id = "warehouse.preflight"
    kinds = frozenset({ArtifactKind.DBT_PROJECT, ArtifactKind.ENV_CONFIG})
    cacheable = (
        False  # warehouse state, grants and credentials change without any artifact changing
    )

    def __init__(
        self, connect: Connect | None = None, resolver: SecretResolver | None = None
    ) -> None:
        """``connect`` replaces ``snowflake.connector.connect`` and ``resolver`` the secret resolver (tests)."""
        self.connect = connect
        self.resolver = resolver

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        env = ctx.env
        if env is None:
            return []
        relevant = [
            a
            for a in artifacts
            if a.kind is ArtifactKind.DBT_PROJECT
            or (a.kind is ArtifactKind.ENV_CONFIG and config_env(a) == env)
        ]
        if not relevant:
            return []
        dbt_source = next(
            (a.source for a in artifacts if a.kind is ArtifactKind.DBT_PROJECT), DBT_DIR
        )
        config_source = f"{CONFIG_DIR}/{env}.yaml"
        if ctx.mode is Mode.AWS:
            try:
                config = load_platform_config(ctx.platform / config_source)
            except ConfigError as exc:
                problem = WarehouseProblem(
                    codes.UNVERIFIED,
                    Severity.WARNING,
                    f"warehouse of {env} not checked: its config does not load ({exc})",
                    "fix the env config (config.schema names the field)",
                )
                return [self._finding(problem, env, config_source, dbt_source)]
            if config.warehouse.type == "snowflake":
                problems = self._snowflake(ctx.platform / dbt_source, config)
                return [self._finding(p, env, config_source, dbt_source) for p in problems]
        if ctx.warehouse_dir is None:
            return []  # the caller has no local warehouse to look at (e.g. a benchmark)
        path = duckdb_file(ctx.warehouse_dir, env)
        # dbt-duckdb names the catalog after the file, which is what ``target.database`` renders to.
        tables, problems = self._tables(ctx.platform / dbt_source, DbtTarget("duckdb", path.stem))
        problems += duckdb_preflight(path, tables, seeded_schemas=LOCAL_SEEDED_SCHEMAS)
        return [self._finding(p, env, None, dbt_source) for p in problems]

    def _tables(
        self, project: Path, target: DbtTarget, env_vars: dict[str, str] | None = None
    ) -> tuple[list[SourceTable], list[WarehouseProblem]]:
        """The source tables for ``target``; a project that cannot be read leaves them unchecked."""
        if not (project / "dbt_project.yml").is_file():
            return [], []
        try:
            return source_tables(project, target, env_vars), []
        except SourceReadError as exc:
            return [], [
                WarehouseProblem(
                    codes.UNVERIFIED,
                    Severity.WARNING,
                    f"raw source tables not checked: the dbt sources do not resolve ({exc})",
                    "fix the source definition (dbt.project runs dbt parse on it)",
                )
            ]

    def _snowflake(self, project: Path, config: PlatformConfig) -> list[WarehouseProblem]:
        identity = deploy_identity(config, self.resolver)
        if isinstance(identity, WarehouseProblem):
            return [identity]
        tables, problems = self._tables(
            project, DbtTarget("snowflake", identity.database), source_vars(config)
        )
        return problems + snowflake_preflight(identity, tables, connect=self.connect)

    def _finding(
        self, problem: WarehouseProblem, env: str, config_file: str | None, dbt_source: str
    ) -> Finding:
        """Source problems point at the source's YAML; the rest at the environment's config."""
        file: str | None
        if problem.table is not None:
            artifact, file, line = (
                DBT_ARTIFACT,
                f"{dbt_source}/{problem.table.file}",
                problem.table.line,
            )
        else:
            artifact, file, line = f"config/{env}", config_file, None
        return Finding(
            check_id=f"warehouse.{problem.code}",
            severity=problem.severity,
            artifact=artifact,
            file=file,
            line=line,
            message=problem.message,
            hint=problem.hint,
        )
