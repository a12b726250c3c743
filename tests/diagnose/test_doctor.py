"""doctor against the embedded defaults and moto's server, with faults injected one layer at a time."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import boto3
import duckdb
import pytest

from finsight_release.demo import copy_platform
from finsight_release.diagnose.doctor import run_doctor
from finsight_release.diagnose.layers import DoctorContext, probe_secrets, secret_refs
from finsight_release.envs.environment import Environment
from finsight_release.release.repository import blob_key
from finsight_release.settings import REPO_ROOT, Mode, load_settings
from finsight_release.system import ReleaseSystem

DEV = Environment.DEV
AWS_SECRET = "finsight/dev/doctor_probe"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "terraform_plans"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "digest": "sha256:" + "c" * 64,
            "size": 7023,
            "mediaType": "application/vnd.docker.container.image.v1+json",
        },
        "layers": [],
    }
)


@pytest.fixture(scope="module")
def deployed(
    tmp_path_factory: pytest.TempPathFactory, moto_server_session: str
) -> Iterator[ReleaseSystem]:
    """The reference platform (plus a pushed image and a secret reference) live in dev."""
    root = tmp_path_factory.mktemp("doctor")
    ecr = boto3.client(
        "ecr",
        endpoint_url=moto_server_session,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ecr.create_repository(repositoryName="finsight/doctor-probe")
    digest = ecr.put_image(
        repositoryName="finsight/doctor-probe", imageManifest=MANIFEST, imageTag="v1"
    )["image"]["imageId"]["imageDigest"]
    tree = copy_platform(REPO_ROOT, root / "platform")
    shutil.rmtree(
        tree / "release_assets/images"
    )  # their digests are not in this moto registry; ours is
    image = tree / "release_assets/images/doctor-probe"
    image.mkdir(parents=True, exist_ok=True)
    (image / "Dockerfile").write_text(f"FROM python@{digest}\n")
    (image / "image.yaml").write_text(
        f"repository: 111122223333.dkr.ecr.us-east-1.amazonaws.com/finsight/doctor-probe\ndigest: {digest}\n"
    )
    config = tree / "release_assets/config/dev.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    if not config.exists():
        config.write_text("environment: dev\n")
    config.write_text(
        config.read_text()
        + "\ndoctor_probe_secret: env:FINSIGHT_DOCTOR_PROBE_PASSWORD"
        + f"\ndoctor_probe_aws_secret: aws-sm:{AWS_SECRET}\n"
    )
    system = ReleaseSystem(load_settings(home=root / "home", platform=tree))
    manifest, _ = system.build(tree)
    system.deployer.promote(DEV, manifest.release_id)
    yield system


@pytest.fixture
def ctx(
    deployed: ReleaseSystem, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> DoctorContext:
    ctx = deployed.doctor_context(DEV)
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    try:
        secrets.create_secret(Name=AWS_SECRET, SecretString="never-read-by-doctor")
    except secrets.exceptions.ResourceExistsException:
        pass  # the moto server is shared by the session
    for ref in secret_refs(ctx.config):  # dev's env: references, set as a developer's shell would
        if ref.startswith("env:"):
            monkeypatch.setenv(ref.removeprefix("env:"), "set-for-the-test")
    return ctx


def statuses(ctx: DoctorContext) -> dict[str, str]:
    return {layer.layer: layer.status for layer in run_doctor(ctx).layers}


def test_healthy_environment_passes_every_layer(ctx: DoctorContext) -> None:
    report = run_doctor(ctx)
    assert report.ok, [
        (layer.layer, layer.evidence) for layer in report.layers if layer.status == "failed"
    ]
    assert {layer.layer: layer.status for layer in report.layers}["images"] == "ok"


def test_corrupt_blob_fails_artifacts_layer(ctx: DoctorContext) -> None:
    dags = ctx.manifest.artifact("airflow/dags")  # type: ignore[union-attr]
    blob = ctx.settings.home / "store" / blob_key(dags.files[0].digest)  # type: ignore[union-attr]
    original = blob.read_bytes()
    blob.write_bytes(b"bit rot")
    try:
        report = run_doctor(ctx)
    finally:
        blob.write_bytes(original)
    assert report.failed_layer and report.failed_layer.layer == "artifacts"
    assert [layer.layer for layer in report.layers] == ["artifacts"]  # stops at the first failure


def test_missing_image_fails_images_layer(ctx: DoctorContext, moto_server: str) -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    digest = ctx.manifest.artifact("images/doctor-probe").metadata["image_digest"]  # type: ignore[union-attr]
    ecr.batch_delete_image(
        repositoryName="finsight/doctor-probe", imageIds=[{"imageDigest": digest}]
    )
    try:
        report = run_doctor(ctx)
    finally:
        ecr.put_image(repositoryName="finsight/doctor-probe", imageManifest=MANIFEST, imageTag="v1")
    assert report.failed_layer and report.failed_layer.layer == "images"
    assert report.diagnosis.category == "container_build"


def test_drift_fails_drift_layer(ctx: DoctorContext) -> None:
    ctx.drift_plan.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "hashicorp-terraform__show-json_drift.json", ctx.drift_plan)
    try:
        report = run_doctor(ctx)
    finally:
        ctx.drift_plan.unlink()
    assert report.failed_layer and report.failed_layer.layer == "drift"
    assert report.diagnosis.category == "infra_drift"


def test_broken_dag_fails_dags_layer(ctx: DoctorContext) -> None:
    live = ctx.dags_folder.resolve()
    broken = live / "zz_hotfix_on_the_box.py"
    broken.write_text("from airflow import DAG\nimport finsight_pandas_helpers_not_installed\n")
    try:
        report = run_doctor(ctx)
    finally:
        broken.unlink()
    assert report.failed_layer and report.failed_layer.layer == "dags"
    assert "zz_hotfix_on_the_box.py" in report.failed_layer.evidence
    assert (
        report.diagnosis.category == "dependency_conflict"
    )  # a Broken DAG whose cause is a missing module


def test_missing_secret_fails_secrets_layer(ctx: DoctorContext) -> None:
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.delete_secret(SecretId=AWS_SECRET, ForceDeleteWithoutRecovery=True)
    report = run_doctor(ctx)
    assert report.failed_layer and report.failed_layer.layer == "secrets"
    assert AWS_SECRET in report.failed_layer.evidence
    assert report.diagnosis.category == "config_secrets"


def test_unset_env_secret_is_the_local_default_locally_and_a_failure_in_aws_mode(
    ctx: DoctorContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FINSIGHT_DOCTOR_PROBE_PASSWORD")
    local = probe_secrets(ctx)
    assert local.status == "ok" and "local defaults in use" in local.detail
    aws = ReleaseSystem(ctx.settings.model_copy(update={"mode": Mode.AWS})).doctor_context(DEV)
    failed = probe_secrets(aws)
    assert failed.status == "failed" and "FINSIGHT_DOCTOR_PROBE_PASSWORD" in failed.evidence


def test_missing_warehouse_fails_warehouse_layer(ctx: DoctorContext) -> None:
    moved = ctx.warehouse.with_suffix(".away")
    ctx.warehouse.rename(moved)
    try:
        report = run_doctor(ctx)
    finally:
        moved.rename(ctx.warehouse)
    assert report.failed_layer and report.failed_layer.layer == "warehouse"


def test_dropped_source_column_fails_live_schema_layer(ctx: DoctorContext) -> None:
    with duckdb.connect(str(ctx.warehouse)) as con:
        con.execute("alter table raw.risk__alerts rename column severity to severity_level")
    try:
        report = run_doctor(ctx)
    finally:
        with duckdb.connect(str(ctx.warehouse)) as con:
            con.execute("alter table raw.risk__alerts rename column severity_level to severity")
    assert report.failed_layer and report.failed_layer.layer == "live_schema"
    assert "severity" in report.failed_layer.evidence
    assert report.diagnosis.category == "schema_change"
