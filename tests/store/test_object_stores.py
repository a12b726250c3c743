"""Both backends honour the same contract: atomic writes, create-only, compare-and-swap."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from finsight_release.errors import DigestMismatchError, StaleCasTokenError, StoreUnavailableError
from finsight_release.store.base import ObjectStore
from finsight_release.store.local import LocalObjectStore
from finsight_release.store.s3 import S3ObjectStore


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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


def test_local_crash_leaves_no_partial_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalObjectStore(tmp_path)
    store.put("k", b"old")
    monkeypatch.setattr("os.replace", lambda *a: (_ for _ in ()).throw(OSError("disk gone")))
    with pytest.raises(OSError):
        store.put("k", b"new-but-crashed")
    obj = store.get("k")
    assert obj and obj.data == b"old"


def test_put_file_streams_create_only_or_replacing(store: ObjectStore, tmp_path: Path) -> None:
    first, second = tmp_path / "first.bin", tmp_path / "second.bin"
    first.write_bytes(b"a" * 3_000_000)  # several chunks
    second.write_bytes(b"second")
    first_digest, second_digest = (
        hashlib.sha256(first.read_bytes()).hexdigest(),
        sha256_hex(b"second"),
    )
    assert store.sha256_of("blobs/x") is None
    assert store.put_file("blobs/x", first, first_digest)
    assert store.sha256_of("blobs/x") == first_digest
    assert not store.put_file("blobs/x", second, second_digest)  # exists: nothing written
    assert store.sha256_of("blobs/x") == first_digest
    assert store.put_file("blobs/x", second, second_digest, replace=True)
    obj = store.get("blobs/x")
    assert obj and obj.data == b"second" and store.sha256_of("blobs/x") == second_digest


@pytest.mark.parametrize("store", ["s3"], indirect=True)
def test_put_file_on_s3_sends_the_open_file_and_its_checksum(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 gets a file object (streamed by botocore, never read whole) and ChecksumSHA256, which S3
    checks against the bytes it receives (moto does not, so the request itself is checked here)."""
    assert isinstance(store, S3ObjectStore)
    source = tmp_path / "blob.bin"
    source.write_bytes(b"blob bytes")
    sent: dict[str, object] = {}
    put_object = store.client.put_object

    def spy(**kwargs: object) -> object:
        sent.update(kwargs, body_type=type(kwargs["Body"]))
        return put_object(**kwargs)

    monkeypatch.setattr(store.client, "put_object", spy)
    assert store.put_file("blobs/y", source, sha256_hex(b"blob bytes"))
    assert sent["body_type"] is not bytes and sent["IfNoneMatch"] == "*"
    assert base64.b64decode(str(sent["ChecksumSHA256"])) == hashlib.sha256(b"blob bytes").digest()


def test_local_put_file_of_a_changed_file_writes_nothing(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    source = tmp_path / "changed.txt"
    source.write_bytes(b"edited after hashing")
    with pytest.raises(DigestMismatchError, match="changed since it was hashed"):
        store.put_file("blobs/z", source, sha256_hex(b"original"))
    assert store.list("") == [] and not list((tmp_path / "store").rglob("*.tmp"))
