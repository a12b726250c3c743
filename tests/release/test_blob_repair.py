"""Rebuilding a tree repairs its release's blobs: missing ones are stored again, corrupt ones replaced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from finsight_release.release.repository import ReleaseRepository, blob_key
from finsight_release.store.base import ObjectStore
from finsight_release.store.local import LocalObjectStore
from finsight_release.store.s3 import S3ObjectStore
from tests.mini_platform import make_platform


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "store")
        return
    endpoint = request.getfixturevalue("moto_server")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"finsight-repair-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    client.create_bucket(Bucket=bucket)
    yield S3ObjectStore(f"s3://{bucket}/state", client=client)


def delete(store: ObjectStore, key: str) -> None:
    """Remove a key behind the repository's back (a lifecycle rule, a hand edit)."""
    if isinstance(store, S3ObjectStore):
        store.client.delete_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}")
    else:
        assert isinstance(store, LocalObjectStore)
        (store.root / key).unlink()


def test_rebuild_repairs_missing_and_corrupt_blobs(tmp_path: Path, store: ObjectStore) -> None:
    repo = ReleaseRepository(store)
    platform = make_platform(tmp_path / "p")
    manifest, created = repo.build(platform, "alice")
    assert created
    digests = sorted({f.digest for a in manifest.artifacts for f in a.files})
    corrupt, missing = digests[0], digests[1]
    store.put(blob_key(corrupt), b"bit rot")
    delete(store, blob_key(missing))

    messages: list[str] = []
    again, created = repo.build(platform, "bob", progress=messages.append)
    assert not created and again.release_id == manifest.release_id and again.author == "alice"
    assert (
        messages[-1] == f"already built: repaired 2 of {len(digests)} blobs (1 missing, 1 corrupt)"
    )
    assert (
        store.sha256_of(blob_key(corrupt)) == corrupt
        and store.sha256_of(blob_key(missing)) == missing
    )
    for artifact in manifest.artifacts:  # every blob reads back verified
        repo.materialize(artifact, tmp_path / "out" / artifact.name)

    messages.clear()
    repo.build(platform, "bob", progress=messages.append)
    assert messages[-1] == f"already built: all {len(digests)} blobs verified"


def test_new_release_replaces_a_corrupt_shared_blob(tmp_path: Path, store: ObjectStore) -> None:
    """A blob a new release shares with an old one is checked too, not trusted for existing."""
    repo = ReleaseRepository(store)
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "alice")
    shared = next(f.digest for f in v1.artifacts[0].files)
    store.put(blob_key(shared), b"tampered")
    messages: list[str] = []
    p2 = make_platform(tmp_path / "p2", {"release_assets/airflow/dags/new_dag.py": "x = 1\n"})
    v2, created = repo.build(p2, "alice", progress=messages.append)
    assert created and v2.release_id != v1.release_id
    count = len(v2.artifacts)
    assert messages[-1] == f"stored 1 new blobs of 15, repaired 1 corrupt for {count} artifacts"
    assert store.sha256_of(blob_key(shared)) == shared
