"""S3 backend: conditional writes with If-None-Match / If-Match, as S3 (and moto's server) enforce."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from finsight_release.errors import (
    DigestMismatchError,
    StaleCasTokenError,
    StoreAddressError,
    StoreUnavailableError,
)
from finsight_release.store.base import ObjectStore, StoredObject

# Fail fast on an unreachable endpoint instead of retrying for a minute.
_CLIENT_CONFIG = Config(
    connect_timeout=3, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"}
)
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
# Hash downloads in chunks of this size: memory stays flat whatever the blob size.
CHUNK_BYTES = 1024 * 1024


class S3ObjectStore(ObjectStore):
    """Objects under ``s3://bucket/prefix``. S3 PUTs are atomic, so no temp-and-rename is needed."""

    def __init__(
        self, url: str, client: Any | None = None, endpoint_url: str | None = None
    ) -> None:
        if not url.startswith("s3://"):
            raise StoreAddressError(f"not an S3 URL: {url}")
        bucket, _, prefix = url[5:].partition("/")
        self.url, self.bucket, self.prefix = url, bucket, prefix.strip("/")
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, config=_CLIENT_CONFIG)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _unavailable(self, key: str, exc: Exception) -> StoreUnavailableError:
        return StoreUnavailableError(f"store {self.url} unreachable at {key}: {exc}")

    def get(self, key: str) -> StoredObject | None:
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return StoredObject(resp["Body"].read(), resp["ETag"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise self._unavailable(key, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(key, exc) from exc

    def _put(self, key: str, data: Any, **conditions: Any) -> str:
        try:
            resp = self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, **conditions
            )
            return str(resp["ETag"])
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
            if code in _CONFLICT_CODES or status in {"412", "409"}:
                raise StaleCasTokenError(f"{key} changed since it was read ({code})") from exc
            if code in {"BadDigest", "XAmzContentSHA256Mismatch"}:
                raise DigestMismatchError(
                    f"{key}: uploaded bytes do not match their sha256 ({code})"
                ) from exc
            raise self._unavailable(key, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(key, exc) from exc

    def put(self, key: str, data: bytes) -> None:
        self._put(key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        try:
            self._put(key, data, IfNoneMatch="*")
            return True
        except StaleCasTokenError:
            return False

    def put_file(self, key: str, path: Path, sha256: str, replace: bool = False) -> bool:
        # botocore streams an open file as the request body. S3 checks the bytes against
        # ChecksumSHA256 and refuses them if the file changed since it was hashed (BadDigest).
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
        conditions = {} if replace else {"IfNoneMatch": "*"}
        with path.open("rb") as body:
            try:
                self._put(key, body, ChecksumSHA256=checksum, **conditions)
            except StaleCasTokenError:
                return False
        return True

    def sha256_of(self, key: str) -> str | None:
        digest = hashlib.sha256()
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            for chunk in resp["Body"].iter_chunks(CHUNK_BYTES):
                digest.update(chunk)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise self._unavailable(key, exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(key, exc) from exc
        return digest.hexdigest()

    def put_if_match(self, key: str, data: bytes, etag: str | None) -> str:
        if etag is None:
            return self._put(key, data, IfNoneMatch="*")
        return self._put(key, data, IfMatch=etag)

    @cached_property
    def object_lock_enabled(self) -> bool:
        """True when the bucket was created with Object Lock (only then may a PUT carry retention)."""
        try:
            config = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ObjectLockConfigurationNotFoundError":
                return False
            raise self._unavailable("(object lock configuration)", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("(object lock configuration)", exc) from exc
        return config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"

    def put_retained(self, key: str, data: bytes, retain_until: datetime) -> bool:
        # COMPLIANCE: nobody, root included, can delete this version or shorten its retention.
        lock: dict[str, Any] = (
            {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": retain_until}
            if self.object_lock_enabled
            else {}
        )
        try:
            self._put(key, data, IfNoneMatch="*", **lock)
            return True
        except StaleCasTokenError:
            return False

    def _versions(self, prefix: str) -> list[dict[str, Any]]:
        """Every stored version (delete markers excluded) under ``prefix``; S3 lists a key's newest first."""
        versions: list[dict[str, Any]] = []
        try:
            for page in self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            ):
                versions.extend(page.get("Versions", []))
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable(prefix, exc) from exc
        return versions

    def get_retained(self, key: str) -> StoredObject | None:
        # The oldest version: a create-only object's first write is the genuine one, and under Object
        # Lock it can be neither deleted nor altered; later versions (a plain PUT over it) can be forged.
        versions = [v for v in self._versions(key) if v["Key"] == self._key(key)]
        if not versions:
            return None
        try:
            resp = self.client.get_object(
                Bucket=self.bucket, Key=self._key(key), VersionId=versions[-1]["VersionId"]
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable(key, exc) from exc
        return StoredObject(resp["Body"].read(), resp["ETag"])

    def list_retained(self, prefix: str) -> list[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        return sorted({v["Key"][strip:] for v in self._versions(prefix)})

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            ):
                keys.extend(obj["Key"][strip:] for obj in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable(prefix, exc) from exc
        return sorted(keys)
