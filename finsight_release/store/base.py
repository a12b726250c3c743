"""The storage primitive every backend implements: keyed objects with conditional writes.

Everything durable (artifact blobs, release manifests, environment pointers, promotion records) is
built on these five operations, so the local filesystem and S3 behave the same way. ``etag`` is an
opaque token: a conditional write succeeds only if the object still has the token that was read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


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

    def exists(self, key: str) -> bool:
        """True when ``key`` exists."""
        return self.get(key) is not None
