"""The storage primitive every backend implements: keyed objects with conditional writes.

Everything durable (artifact blobs, release manifests, environment pointers, promotion records) is
built on these five operations, so the local filesystem and S3 behave the same way. ``etag`` is an
opaque token: a conditional write succeeds only if the object still has the token that was read.
"""

from __future__ import annotations

import builtins
import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from finsight_release.errors import DigestMismatchError


@dataclass(frozen=True)
class StoredObject:
    """Bytes read from the store and the token that names this exact version."""

    data: bytes
    etag: str


class ObjectStore(ABC):
    """Keyed byte objects; keys are '/'-separated relative paths."""

    url: str

    @abstractmethod
    def get(self, key: str) -> StoredObject | None:
        """The object at ``key`` or None when absent. Raises StoreUnavailableError when unreachable."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Write atomically: readers see the old bytes or the new ones, never a partial object."""

    @abstractmethod
    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create ``key`` only if it does not exist; False (nothing written) if it does."""

    @abstractmethod
    def put_if_match(self, key: str, data: bytes, etag: str | None) -> str:
        """Replace ``key`` only if its current token is ``etag`` (None: only if absent).

        Returns the new token; raises StaleCasTokenError when another writer got there first.
        """

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix``, sorted."""

    # Blobs: files streamed in and hashed out. These defaults hold the whole object in memory; the
    # local and S3 backends override them to stream, so a file's size never becomes memory.

    def put_file(self, key: str, path: Path, sha256: str, replace: bool = False) -> bool:
        """Write the bytes of file ``path`` at ``key``, create-only unless ``replace``.

        The bytes must hash to ``sha256`` (the digest they are stored under): a file changed since
        it was hashed raises DigestMismatchError and nothing is written. Returns False when the key
        exists and ``replace`` is False (nothing written).
        """
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise DigestMismatchError(
                f"{path} changed since it was hashed (expected {sha256[:12]})"
            )
        if replace:
            self.put(key, data)
            return True
        return self.put_if_absent(key, data)

    def sha256_of(self, key: str) -> str | None:
        """Hex sha256 of the bytes at ``key``, or None when absent."""
        obj = self.get(key)
        return hashlib.sha256(obj.data).hexdigest() if obj else None

    def exists(self, key: str) -> bool:
        """True when ``key`` exists."""
        return self.get(key) is not None

    # Retained objects: create-only evidence that must outlive whoever can write the store. The
    # defaults are the plain create-only operations; S3 adds Object Lock retention and sees through
    # delete markers (a DELETE without a version id only hides a locked object, it cannot remove it).

    def put_retained(self, key: str, data: bytes, retain_until: datetime) -> bool:
        """Create ``key`` only if absent, kept immutable until ``retain_until`` where the backend can
        enforce it (S3 Object Lock, COMPLIANCE mode). False (nothing written) if it already exists."""
        return self.put_if_absent(key, data)

    def get_retained(self, key: str) -> StoredObject | None:
        """The object as first created at ``key``, even if a later delete hid it or a later write covered it
        (S3 versions); None if it never existed."""
        return self.get(key)

    def list_retained(self, prefix: str) -> builtins.list[str]:
        """Like ``list``, but also names retained objects that a later delete only hid."""
        return self.list(prefix)
