"""Both backends honour the same contract: atomic writes, create-only, compare-and-swap."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from finsight_release.errors import StaleCasTokenError, StoreUnavailableError
from finsight_release.store.base import ObjectStore
from finsight_release.store.local import LocalObjectStore
from finsight_release.store.s3 import S3ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "store")
        return
    endpoint = request.getfixturevalue("moto_server")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"finsight-release-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    yield S3ObjectStore(f"s3://{bucket}/state", client=client)


def test_put_get_list(store: ObjectStore) -> None:
    assert store.get("a/b.json") is None
    store.put("a/b.json", b"one")
    store.put("a/c.json", b"two")
    obj = store.get("a/b.json")
    assert obj and obj.data == b"one"
    assert store.list("a/") == ["a/b.json", "a/c.json"]


def test_put_if_absent_is_create_only(store: ObjectStore) -> None:
    assert store.put_if_absent("k", b"first")
    assert not store.put_if_absent("k", b"second")
    obj = store.get("k")
    assert obj and obj.data == b"first"


def test_compare_and_swap(store: ObjectStore) -> None:
    token = store.put_if_match("ptr", b"v1", None)
    with pytest.raises(StaleCasTokenError):
        store.put_if_match("ptr", b"other", None)  # exists already
    token2 = store.put_if_match("ptr", b"v2", token)
    with pytest.raises(StaleCasTokenError, match="changed since it was read"):
        store.put_if_match("ptr", b"v3", token)  # stale token
    obj = store.get("ptr")
    assert obj and obj.data == b"v2" and obj.etag == token2


def test_concurrent_cas_exactly_one_wins(store: ObjectStore) -> None:
    token = store.put_if_match("ptr", b"v0", None)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            store.put_if_match("ptr", f"w{i}".encode(), token)
            results.append("won")
        except StaleCasTokenError:
            results.append("lost")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["lost", "lost", "lost", "won"]


def test_unreachable_s3_is_a_clear_error() -> None:
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    store = S3ObjectStore("s3://nowhere/state", client=client)
    with pytest.raises(StoreUnavailableError, match="s3://nowhere/state unreachable"):
        store.get("envs/prod/pointer.json")


def test_local_crash_leaves_no_partial_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalObjectStore(tmp_path)
    store.put("k", b"old")
    monkeypatch.setattr("os.replace", lambda *a: (_ for _ in ()).throw(OSError("disk gone")))
    with pytest.raises(OSError):
        store.put("k", b"new-but-crashed")
    obj = store.get("k")
    assert obj and obj.data == b"old"
