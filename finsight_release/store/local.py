"""Local filesystem backend: atomic renames for writes, an exclusive lock for compare-and-swap."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from finsight_release.errors import (
    DigestMismatchError,
    StaleCasTokenError,
    StoreAddressError,
    StoreUnavailableError,
)
from finsight_release.store.base import ObjectStore, StoredObject

# Copy and hash in chunks of this size: memory stays flat whatever the blob size.
CHUNK_BYTES = 1024 * 1024


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalObjectStore(ObjectStore):
    """Objects as files under ``root``.

    Writes go to a temporary file in the same directory, are fsynced, then renamed into place, so a
    crash leaves either the old object or the new one. Compare-and-swap holds an exclusive ``flock``
    on a sidecar lock file while it compares and renames, which serializes writers across processes.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise StoreAddressError(f"invalid store key {key!r}")
        return self.root / key

    def get(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreUnavailableError(
                f"store {self.url} unreadable at {key}: {exc.strerror}"
            ) from exc
        return StoredObject(data, _etag(data))

    def _write_temp(self, path: Path, data: bytes) -> Path:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise StoreUnavailableError(
                f"store {self.url} not writable at {path.parent}: {exc.strerror}"
            ) from exc
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return Path(tmp)

    def _copy_temp(self, path: Path, source: Path, sha256: str) -> Path:
        """A fsynced temporary copy of ``source`` beside ``path``, streamed and checked against ``sha256``."""
        tmp = self._write_temp(path, b"")
        digest = hashlib.sha256()
        try:
            with source.open("rb") as src, open(tmp, "wb") as dst:
                while chunk := src.read(CHUNK_BYTES):
                    digest.update(chunk)
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            if digest.hexdigest() != sha256:
                raise DigestMismatchError(
                    f"{source} changed since it was hashed (expected {sha256[:12]})"
                )
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    def put_file(self, key: str, path: Path, sha256: str, replace: bool = False) -> bool:
        target = self._path(key)
        tmp = self._copy_temp(target, path, sha256)
        if replace:
            os.replace(tmp, target)
            return True
        try:
            os.link(tmp, target)  # create-only, as in put_if_absent
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def sha256_of(self, key: str) -> str | None:
        digest = hashlib.sha256()
        try:
            with self._path(key).open("rb") as fh:
                while chunk := fh.read(CHUNK_BYTES):
                    digest.update(chunk)
        except (FileNotFoundError, IsADirectoryError):
            return None
        except OSError as exc:
            raise StoreUnavailableError(
                f"store {self.url} unreadable at {key}: {exc.strerror}"
            ) from exc
        return digest.hexdigest()

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        os.replace(self._write_temp(path, data), path)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        tmp = self._write_temp(path, data)
        try:
            os.link(tmp, path)  # link() fails atomically if the name exists
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def put_if_match(self, key: str, data: bytes, etag: str | None) -> str:
        path = self._path(key)
        with self._locked(path):
            current = self.get(key)
            current_tag = current.etag if current else None
            if current_tag != etag:
                raise StaleCasTokenError(
                    f"{key} changed since it was read (expected {str(etag)[:12]}, found {str(current_tag)[:12]})"
                )
            os.replace(self._write_temp(path, data), path)
        return _etag(data)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix else self.root
        if not base.is_dir():
            return []
        keys = [
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith((".lock", ".tmp"))
        ]
        return sorted(keys)
