"""The MWAA target: the S3 side on moto's server over HTTP; the MWAA API (``invoke_rest_api``,
``update_environment``, ``get_environment``) through botocore's Stubber, which makes no request: no
local server implements MWAA. The stubbed responses follow the AWS API reference's shapes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from finsight_release.envs.environment import Environment
from finsight_release.errors import TargetError
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.local import LocalObjectStore
from finsight_release.targets.mwaa import (
    SYNC_INTENT,
    SYNC_MANIFEST,
    MwaaEnvironment,
    MwaaTarget,
)
from tests.mini_platform import make_platform

DEV = Environment.DEV
DAGS_DIR = "release_assets/airflow/dags"
MWAA_ENV = "finsight-dev"


class World:
    """A versioned bucket on moto, a stubbed MWAA client, a target and two releases."""

    def __init__(self, tmp_path: Path, bucket: str) -> None:
        self.s3 = boto3.client("s3")
        self.s3.create_bucket(Bucket=bucket)
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        self.bucket = bucket
        self.mwaa = boto3.client("mwaa", region_name="us-east-1")
        self.stub = Stubber(self.mwaa)
        self.target = MwaaTarget(
            {DEV: MwaaEnvironment(MWAA_ENV, bucket)}, self.s3, self.mwaa, poll_s=0.01
        )
        self.repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
        self.v1 = self.build(tmp_path / "p1", {f"{DAGS_DIR}/old_only.py": "# dag\nX = 1\n"})
        self.v2 = self.build(
            tmp_path / "p2",
            {
                f"{DAGS_DIR}/ingest_core.py": "# dag one, v2\nDAG_ID = 'ingest_core'\n",
                f"{DAGS_DIR}/new_only.py": "# dag\nY = 2\n",
                "release_assets/airflow/requirements.txt": "apache-airflow-providers-snowflake==6.7.0\n",
            },
        )

    def build(self, root: Path, overrides: dict[str, str]) -> ReleaseManifest:
        manifest, _ = self.repo.build(make_platform(root, overrides), "tester")
        return manifest

    def deploy(self, manifest: ReleaseManifest, names: tuple[str, ...] = ("airflow/dags",)) -> None:
        artifacts = [a for a in manifest.artifacts if a.name in names]
        self.target.prepare(DEV, manifest, artifacts, self.repo)
        self.target.switch(DEV, manifest, artifacts)

    def keys(self) -> set[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="dags/").get("Contents", [])
        return {o["Key"].removeprefix("dags/") for o in listed}

    def dags_files(self, manifest: ReleaseManifest) -> set[str]:
        artifact = manifest.artifact("airflow/dags")
        assert artifact is not None
        return {f.path for f in artifact.files}


@pytest.fixture
def world(moto_server: str, tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path, f"mwaa-{tmp_path.name.lower().replace('_', '-')[:40]}")
    with w.stub:
        yield w


def import_errors_answer(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """``InvokeRestApi``'s response: the status code and Airflow's JSON body as a document."""
    return {
        "RestApiStatusCode": 200,
        "RestApiResponse": {"import_errors": errors, "total_entries": len(errors)},
    }


def test_sync_writes_the_manifest_last_and_deletes_removed_files(world: World) -> None:
    world.deploy(world.v1)
    assert world.keys() == world.dags_files(world.v1) | {SYNC_MANIFEST}
    world.deploy(world.v2)
    assert world.keys() == world.dags_files(world.v2) | {SYNC_MANIFEST}
    sync = world.target.last_sync
    assert sync is not None and sync.deleted == ["old_only.py"]
    assert set(sync.copied) == {"ingest_core.py", "new_only.py"}  # unchanged files are not copied
    state = world.target.sync_state(DEV)
    assert state["state"] == "clean" and state["digest"] == world.v2.artifact("airflow/dags").digest  # type: ignore[union-attr]
    versions = world.s3.list_object_versions(Bucket=world.bucket, Prefix="dags/old_only.py")
    assert versions["Versions"] and versions["DeleteMarkers"]  # removed, still recoverable


def test_a_partial_sync_is_detected_then_completed_or_reverted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.deploy(world.v1)
    real_copy, calls = world.s3.copy_object, []

    def dies_after_one_copy(**kwargs: Any) -> Any:
        calls.append(kwargs["Key"])
        if len(calls) > 1:
            raise ConnectionError("network gone mid-sync")
        return real_copy(**kwargs)

    monkeypatch.setattr(world.s3, "copy_object", dies_after_one_copy)
    with pytest.raises(ConnectionError):
        world.deploy(world.v2)
    monkeypatch.setattr(world.s3, "copy_object", real_copy)
    state = world.target.sync_state(DEV)
    v1_digest = world.v1.artifact("airflow/dags").digest  # type: ignore[union-attr]
    v2_digest = world.v2.artifact("airflow/dags").digest  # type: ignore[union-attr]
    assert state["state"] == "partial" and state["intent"]["to_digest"] == v2_digest
    assert state["digest"] == v1_digest  # the manifest still names v1: the sync never finished
    world.stub.add_response(
        "invoke_rest_api",
        import_errors_answer([]),
        {"Name": MWAA_ENV, "Path": "/importErrors", "Method": "GET"},
    )
    dags_v1 = world.v1.artifact("airflow/dags")
    assert dags_v1 is not None
    assert "partial sync" in world.target.verify(DEV, world.v1, [dags_v1])[0]

    world.deploy(world.v1)  # the Deployer's restore: reverted to v1
    sync = world.target.last_sync
    assert sync is not None and sync.recovered and sync.recovered["to_digest"] == v2_digest
    assert world.keys() == world.dags_files(world.v1) | {SYNC_MANIFEST}
    assert world.target.sync_state(DEV) == {"state": "clean", "digest": v1_digest, "intent": None}
    monkeypatch.setattr(world.s3, "copy_object", dies_after_one_copy)
    calls.clear()
    with pytest.raises(ConnectionError):
        world.deploy(world.v2)
    monkeypatch.setattr(world.s3, "copy_object", real_copy)
    world.deploy(world.v2)  # re-running the promotion completes it
    assert world.keys() == world.dags_files(world.v2) | {SYNC_MANIFEST}
    assert SYNC_INTENT not in world.keys()
    assert world.target.sync_state(DEV)["digest"] == v2_digest


def test_an_unversioned_bucket_or_an_escaping_path_is_refused(
    world: World, moto_server: str
) -> None:
    bucket = world.bucket + "-plain"
    world.s3.create_bucket(Bucket=bucket)
    plain = MwaaTarget({DEV: MwaaEnvironment(MWAA_ENV, bucket)}, world.s3, world.mwaa)
    dags = world.v1.artifact("airflow/dags")
    assert dags is not None
    with pytest.raises(TargetError, match="is not versioned"):
        plain.prepare(DEV, world.v1, [dags], world.repo)
    escaping = dags.model_copy(
        update={"files": (dags.files[0].model_copy(update={"path": "../requirements.txt"}),)}
    )
    with pytest.raises(TargetError, match="escapes the target folder"):
        world.target.prepare(DEV, world.v1, [escaping], world.repo)
    assert world.keys() == set()


def test_health_reads_import_errors_through_invoke_rest_api(world: World) -> None:
    world.deploy(world.v2)
    world.stub.add_response(
        "invoke_rest_api",
        import_errors_answer(
            [
                {
                    "import_error_id": 7,
                    "filename": "/usr/local/airflow/dags/new_only.py",
                    "stack_trace": "Traceback (most recent call last):\n  ...\nNameError: name 'Y' is not defined\n",
                    "timestamp": datetime.now(UTC).isoformat(),
                }
            ]
        ),
        {"Name": MWAA_ENV, "Path": "/importErrors", "Method": "GET"},
    )
    dags = world.v2.artifact("airflow/dags")
    assert dags is not None
    assert world.target.verify(DEV, world.v2, [dags]) == [
        "airflow.import_errors: new_only.py: NameError: name 'Y' is not defined"
    ]
    world.stub.assert_no_pending_responses()


def environment(status: str, last: str, error: dict[str, str] | None = None) -> dict[str, Any]:
    """``GetEnvironment``'s response (the fields this target reads, as the API reference names them)."""
    update: dict[str, Any] = {"Status": last, "CreatedAt": datetime.now(UTC), "Source": "SERVICE"}
    if error:
        update["Error"] = error
    return {"Environment": {"Name": MWAA_ENV, "Status": status, "LastUpdate": update}}


def test_a_requirements_change_updates_the_environment_to_the_new_object_version(
    world: World,
) -> None:
    arn = f"arn:aws:airflow:us-east-1:111122223333:environment/{MWAA_ENV}"
    world.stub.add_response(
        "update_environment",
        {"Arn": arn},
        {
            "Name": MWAA_ENV,
            "RequirementsS3Path": "requirements.txt",
            "RequirementsS3ObjectVersion": ANY,
        },
    )
    world.stub.add_response(
        "get_environment", environment("UPDATING", "PENDING"), {"Name": MWAA_ENV}
    )
    world.stub.add_response(
        "get_environment", environment("AVAILABLE", "SUCCESS"), {"Name": MWAA_ENV}
    )
    world.deploy(world.v2, ("airflow/requirements",))
    head = world.s3.head_object(Bucket=world.bucket, Key="requirements.txt")
    assert world.target.last_update is not None
    assert world.target.last_update["RequirementsS3ObjectVersion"] == head["VersionId"]
    world.stub.assert_no_pending_responses()


def test_a_failed_environment_update_stops_the_deploy_in_one_line(world: World) -> None:
    world.stub.add_response("update_environment", {"Arn": "arn"}, None)
    world.stub.add_response(
        "get_environment",
        environment(
            "UPDATE_FAILED",
            "FAILED",
            {
                "ErrorCode": "INCORRECT_CONFIGURATION",
                "ErrorMessage": "requirements failed to install",
            },
        ),
        {"Name": MWAA_ENV},
    )
    with pytest.raises(
        TargetError,
        match="mwaa.update: environment finsight-dev is UPDATE_FAILED: INCORRECT_CONFIGURATION",
    ):
        world.deploy(world.v2, ("airflow/requirements",))
