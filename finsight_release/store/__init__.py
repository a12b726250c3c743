"""Storage backends (local filesystem, S3) behind one small conditional-write interface."""

from __future__ import annotations

import os
from pathlib import Path

from finsight_release.store.base import ObjectStore, StoredObject


def open_store(url: str) -> ObjectStore:
    """The backend for ``url``: ``s3://bucket/prefix`` or a local directory path."""
    if url.startswith("s3://"):
        from finsight_release.store.s3 import S3ObjectStore

        return S3ObjectStore(url, endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or None)
    from finsight_release.store.local import LocalObjectStore

    return LocalObjectStore(Path(url))


__all__ = ["ObjectStore", "StoredObject", "open_store"]
