"""A JSON-file cache of check results, keyed by (check, artifact digest, environment, inputs).

One file per key under a directory (e.g. ``$FINSIGHT_HOME/validate-cache``): writes are atomic
(temp file + rename), so concurrent runs and threads never see half a file, and a corrupt or
unreadable entry is treated as a miss instead of failing validation.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from finsight_release.validate.finding import Finding

# Bump when the cache entry layout changes: old entries then simply miss.
CACHE_FORMAT = 1


def cache_key(*parts: str) -> str:
    """A stable hex key from its parts (order matters, NUL-separated so parts cannot run together)."""
    h = hashlib.sha256(f"finsight-validate-cache/{CACHE_FORMAT}".encode())
    for part in parts:
        h.update(b"\0" + part.encode())
    return h.hexdigest()


class ResultCache:
    """Findings of a check on one artifact, stored as JSON files named by key under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[Finding] | None:
        """The cached findings for ``key``, or None on a miss (absent, unreadable or corrupt entry)."""
        try:
            data = json.loads(self._path(key).read_text())
            return [Finding.model_validate(item) for item in data["findings"]]
        except (OSError, ValueError, KeyError, TypeError, ValidationError):
            return None

    def put(self, key: str, findings: Sequence[Finding]) -> None:
        """Store ``findings`` under ``key`` atomically; a cache that cannot be written is skipped."""
        path = self._path(key)
        payload = json.dumps(
            {"format": CACHE_FORMAT, "findings": [f.model_dump(mode="json") for f in findings]}
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w") as handle:
                handle.write(payload)
            os.replace(tmp, path)
        except OSError:
            # A read-only or full cache directory only costs speed, never correctness.
            return

    def clear(self) -> None:
        """Remove every cached entry."""
        for path in self.root.glob("*/*.json"):
            path.unlink(missing_ok=True)
