"""The doctor's layers: one probe per layer, each answering one question about an environment.

Every probe returns a :class:`ProbeResult`; ``evidence`` is the raw error text the failure
classifier reads. Probes that cannot apply in the current mode say ``skipped`` and why.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from finsight_release.envs.environment import Environment
from finsight_release.envs.pointer import PointerBoard
from finsight_release.errors import AirflowProbeError
from finsight_release.release.artifact import ArtifactKind, sha256_bytes
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository, blob_key
from finsight_release.settings import Settings
from finsight_release.targets.warehouse import duckdb_file
from finsight_release.validate.airflow.bundle import DagBundle
from finsight_release.validate.airflow.dagbag import run_dagbag
from finsight_release.validate.warehouse.duckdb_preflight import (
    open_read_only_error,
    rolled_back_ddl_error,
)


@dataclass(frozen=True)
class ProbeResult:
    """ok / failed / skipped, a one-line detail, and the raw evidence of a failure."""

    status: str
    detail: str
    evidence: str = ""


def ok(detail: str) -> ProbeResult:
    return ProbeResult("ok", detail)


def failed(detail: str, evidence: str = "") -> ProbeResult:
    return ProbeResult("failed", detail, evidence or detail)


def skipped(detail: str) -> ProbeResult:
    return ProbeResult("skipped", detail)


@dataclass
class DoctorContext:
    """The environment under examination, the parts of the system the layers read, and lazily loaded
    facts about it: the release store and pointers, the settings, and the env's live Airflow dags folder."""

    repo: ReleaseRepository
    board: PointerBoard
    settings: Settings
    dags_folder: Path
    env: Environment

    @cached_property
    def manifest(self) -> ReleaseManifest | None:
        pointer, _ = self.board.read(self.env)
        return self.repo.get(pointer.release_id) if pointer.release_id else None

    @cached_property
    def config(self) -> dict[str, Any]:
        """The env config of the release the environment runs (from the store, as deployed)."""
        artifact = self.manifest.artifact(f"config/{self.env}") if self.manifest else None
        if artifact is None or not artifact.files:
            return {}
        data = self.repo.read_blob(artifact.files[0].digest, artifact.name)
        return yaml.safe_load(data) or {}

    @property
    def warehouse(self) -> Path:
        return duckdb_file(self.settings.warehouse_path, str(self.env))

    @property
    def drift_plan(self) -> Path:
        """Where the latest ``terraform plan -refresh-only`` JSON of this environment is ingested."""
        from finsight_release.diagnose.detection import drift_plan_path

        return drift_plan_path(self.settings.home, self.env)


def probe_artifacts(ctx: DoctorContext) -> ProbeResult:
    """The release the env runs exists and every blob it needs is present and matches its digest."""
    if ctx.manifest is None:
        return failed(
            f"{ctx.env} runs no release", f"environment {ctx.env} has no current release pointer"
        )
    missing, corrupt, count = [], [], 0
    for artifact in ctx.manifest.artifacts:
        for f in artifact.files:
            count += 1
            obj = ctx.repo.store.get(blob_key(f.digest))
            if obj is None:
                missing.append(f"{artifact.name}:{f.path}")
            elif sha256_bytes(obj.data) != f.digest:
                corrupt.append(f"{artifact.name}:{f.path}")
    if missing or corrupt:
        what = [f"blob missing: {m}" for m in missing[:5]] + [
            f"digest mismatch: {c}" for c in corrupt[:5]
        ]
        return failed(
            f"{len(missing)} missing, {len(corrupt)} corrupt of {count} blobs", "\n".join(what)
        )
    return ok(f"{ctx.manifest.release_id}: {count} blobs verified")


def probe_images(ctx: DoctorContext) -> ProbeResult:
    """Every container image of the release exists in ECR at its immutable digest."""
    images = ctx.manifest.of_kind(ArtifactKind.CONTAINER_IMAGE) if ctx.manifest else ()
    if not images:
        return skipped("release has no container images")
    if not (ctx.settings.is_aws or os.environ.get("AWS_ENDPOINT_URL")):
        return skipped(
            "no container registry in local mode (set FINSIGHT_MODE=aws or AWS_ENDPOINT_URL)"
        )
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client("ecr")
    problems = []
    for image in images:
        repository = image.metadata["repository"].split("/", 1)[-1]
        try:
            client.describe_images(
                repositoryName=repository,
                imageIds=[{"imageDigest": image.metadata["image_digest"]}],
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            problems.append(
                f"{code}: {image.name} {repository}@{image.metadata['image_digest'][:19]}: {exc}"
            )
        except BotoCoreError as exc:
            problems.append(f"ECR unreachable: {exc}")
    if problems:
        return failed(f"{len(problems)} of {len(images)} images not in ECR", "\n".join(problems))
    return ok(f"{len(images)} images present in ECR by digest")


def probe_drift(ctx: DoctorContext) -> ProbeResult:
    """The latest refresh-only plan shows no resource changed outside Terraform."""
    from finsight_release.errors import InvalidPlanError
    from finsight_release.validate.terraform.plan import plan_file_drift

    if not ctx.drift_plan.exists():
        return skipped(f"no refresh-only plan ingested at {ctx.drift_plan}")
    try:
        drift = plan_file_drift(ctx.drift_plan)
    except InvalidPlanError as exc:
        return failed(f"refresh-only plan unreadable: {exc}")
    if drift:
        lines = [f"Note: Objects have changed outside of Terraform: {d.describe()}" for d in drift]
        return failed(f"{len(drift)} resources drifted", "\n".join(lines[:20]))
    return ok("no drift in the latest refresh-only plan")


def probe_dags(ctx: DoctorContext) -> ProbeResult:
    """The DAG bundle live in this environment parses on Airflow 2.10.5 without import errors."""
    folder = ctx.dags_folder
    python = ctx.settings.airflow_python
    if not folder.exists():
        return failed(f"no DAG bundle live at {folder}")
    if not python.exists():
        return skipped(f"Airflow interpreter {python} missing (run scripts/setup.sh)")
    plugins = folder.parent / "plugins"
    try:
        report = run_dagbag(
            python, folder, plugins if plugins.is_dir() else None, DagBundle.scan(folder).dag_files
        )
    except AirflowProbeError as exc:
        return failed("Airflow could not load the DAG bag", str(exc))
    broken = [f"Broken DAG: [{path}] {err}" for path, err in report.import_errors.items()]
    broken += [
        f"Broken DAG: duplicate DAG id {d!r} in {', '.join(files)}"
        for d, files in report.duplicates.items()
    ]
    if broken:
        return failed(f"{len(broken)} DAG files fail to import", "\n".join(broken))
    return ok(f"{len(report.dags)} DAGs parse")


def probe_secrets(ctx: DoctorContext) -> ProbeResult:
    """Every secret reference in the environment's config resolves (never reading a value)."""
    from finsight_release.validate.secrets.refs import SecretResolver

    refs = sorted(set(secret_refs(ctx.config)))
    if not refs:
        return skipped("the env config references no secrets")
    resolver = SecretResolver(
        region=(ctx.config.get("aws") or {}).get("region"), local_defaults=not ctx.settings.is_aws
    )
    resolutions = {ref: resolver.resolve(ref) for ref in refs}
    bad = [f"{ref}: {r.detail}" for ref, r in resolutions.items() if not r.ok]
    if bad:
        return failed(
            f"{len(bad)} of {len(refs)} secret references do not resolve",
            "\n".join(f"secret not found: {b}" for b in bad),
        )
    local = [ref for ref, r in resolutions.items() if r.local_default]
    if local:
        return ok(
            f"{len(refs)} secret references resolve ({len(local)} unset env: references: local defaults in use)"
        )
    return ok(f"{len(refs)} secret references resolve")


def secret_refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [r for v in value.values() for r in secret_refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in secret_refs(v)]
    if isinstance(value, str) and value.startswith(("aws-sm:", "env:")):
        return [value]
    return []


def _snowflake_only(ctx: DoctorContext, what: str) -> ProbeResult | None:
    if ctx.settings.is_aws:
        return skipped(
            f"{what}: in AWS mode Snowflake is probed by validate's warehouse.preflight check "
            f"(finsight-release validate --env {ctx.env})"
        )
    return None


def probe_warehouse(ctx: DoctorContext) -> ProbeResult:
    """The environment's warehouse can be opened."""
    if (res := _snowflake_only(ctx, "warehouse")) is not None:
        return res
    if not ctx.warehouse.exists():
        return failed(
            f"warehouse {ctx.warehouse} does not exist",
            f"IO Error: Cannot open file {ctx.warehouse}",
        )
    if (error := open_read_only_error(ctx.warehouse)) is not None:
        return failed(f"cannot open warehouse {ctx.warehouse}", error)
    return ok(f"DuckDB warehouse {ctx.warehouse.name} opens")


def probe_credentials(ctx: DoctorContext) -> ProbeResult:
    """The deploy identity is accepted by the warehouse."""
    if (res := _snowflake_only(ctx, "credentials")) is not None:
        return res
    return skipped("the embedded DuckDB warehouse has no credentials")


def probe_grants(ctx: DoctorContext) -> ProbeResult:
    """The deploy identity may create schemas, tables and views (tried in a transaction that is rolled back)."""
    if (res := _snowflake_only(ctx, "grants")) is not None:
        return res
    if (error := rolled_back_ddl_error(ctx.warehouse)) is not None:
        return failed(
            "cannot create schemas or tables in the warehouse", f"Insufficient privileges: {error}"
        )
    return ok("can create schemas, tables and views")


def probe_live_schema(ctx: DoctorContext) -> ProbeResult:
    """Raw source tables and published models have the columns the dbt project expects."""
    if (res := _snowflake_only(ctx, "live schema")) is not None:
        return res
    from finsight_release.diagnose.schema_drift import live_schema_findings

    project = None
    dbt = ctx.manifest.artifact("dbt/project") if ctx.manifest else None
    if dbt is not None:
        project = ctx.settings.home / "targets" / "dbt" / dbt.digest
        if not project.is_dir():
            project = ctx.repo.materialize(dbt, Path(tempfile.mkdtemp(prefix="finsight-doctor-")))
    problems = live_schema_findings(ctx.warehouse, project)
    if problems:
        return failed(f"{len(problems)} schema differences", "\n".join(problems[:20]))
    return ok("raw tables and published models match the expected columns")


PROBES: tuple[tuple[str, Callable[[DoctorContext], ProbeResult]], ...] = (
    ("artifacts", probe_artifacts),
    ("images", probe_images),
    ("drift", probe_drift),
    ("dags", probe_dags),
    ("secrets", probe_secrets),
    ("warehouse", probe_warehouse),
    ("credentials", probe_credentials),
    ("grants", probe_grants),
    ("live_schema", probe_live_schema),
)
