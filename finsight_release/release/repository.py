"""Releases in a store: content-addressed blobs plus one manifest per release.

Key layout::

    blobs/sha256/<2 hex>/<64 hex>   file contents, by digest (shared by every release that has them)
    releases/<release id>.json      the manifest, written last, so its presence implies its blobs
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import ValidationError

from finsight_release.errors import ArtifactError, DigestMismatchError, UnknownReleaseError
from finsight_release.release.artifact import Artifact, build_artifact, sha256_bytes
from finsight_release.release.changeset import compute_change_set
from finsight_release.release.layout import discover
from finsight_release.release.manifest import ReleaseManifest, release_id_for
from finsight_release.store.base import ObjectStore

Progress = Callable[[str], None]


def blob_key(digest: str) -> str:
    """Store key of a content blob."""
    return f"blobs/sha256/{digest[:2]}/{digest}"


def manifest_key(release_id: str) -> str:
    """Store key of a release manifest."""
    return f"releases/{release_id}.json"


def git_sha(platform: Path) -> str | None:
    """HEAD of the platform tree's git repository, or None when it is not one."""
    try:
        out = subprocess.run(
            ["git", "-C", str(platform), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class ReleaseRepository:
    """Reads and writes releases and their blobs in an :class:`ObjectStore`."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def scan(
        self, platform: Path, contents: dict[str, bytes] | None = None, strict: bool = True
    ) -> tuple[Artifact, ...]:
        """Hash every artifact of ``platform`` (reads each file once); ``strict=False`` tolerates an
        unusable image spec (see :func:`discover`)."""
        return tuple(
            build_artifact(src.kind, src.name, src.root, platform, src.metadata, contents)
            for src in discover(platform, strict)
        )

    def build(
        self,
        platform: Path,
        author: str,
        base: ReleaseManifest | None = None,
        progress: Progress | None = None,
    ) -> tuple[ReleaseManifest, bool]:
        """Build the release of ``platform``; returns (manifest, created).

        Building an unchanged tree again returns the existing manifest and writes nothing.
        """
        contents: dict[str, bytes] = {}
        artifacts = self.scan(platform, contents)
        release_id = release_id_for(artifacts)
        existing = self.find(release_id)
        if existing is not None:
            return existing, False
        missing = [d for d in contents if not self.store.exists(blob_key(d))]
        if progress:
            progress(f"storing {len(missing)} new blobs of {len(contents)} for {len(artifacts)} artifacts")
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda d: self.store.put_if_absent(blob_key(d), contents[d]), missing))
        manifest = ReleaseManifest(
            release_id=release_id,
            git_sha=git_sha(platform),
            author=author,
            artifacts=artifacts,
            change_set=compute_change_set(base.release_id, base.artifacts, artifacts) if base else None,
        )
        created = self.store.put_if_absent(manifest_key(release_id), manifest.model_dump_json().encode())
        return (manifest if created else self.get(release_id)), created

    def find(self, release_id: str) -> ReleaseManifest | None:
        """The manifest of ``release_id`` or None when there is no such release."""
        obj = self.store.get(manifest_key(release_id))
        if obj is None:
            return None
        try:
            return ReleaseManifest.model_validate_json(obj.data)
        except ValidationError as exc:
            raise ArtifactError(f"manifest of release {release_id} is corrupt: {exc.errors()[0]['msg']}") from exc

    def get(self, release_id: str) -> ReleaseManifest:
        """The manifest of ``release_id``; raises UnknownReleaseError when absent."""
        manifest = self.find(release_id)
        if manifest is None:
            raise UnknownReleaseError(f"unknown release {release_id!r} (no manifest in store {self.store.url})")
        return manifest

    def list_ids(self) -> list[str]:
        """Every release id in the store."""
        return [k.removeprefix("releases/").removesuffix(".json") for k in self.store.list("releases/")]

    def read_blob(self, digest: str, what: str) -> bytes:
        """Bytes of a blob, verified against its digest; ``what`` names it in errors."""
        obj = self.store.get(blob_key(digest))
        if obj is None:
            raise ArtifactError(f"{what}: blob {digest[:12]} missing from store {self.store.url}")
        if sha256_bytes(obj.data) != digest:
            raise DigestMismatchError(f"{what}: stored bytes do not match digest {digest[:12]} (corrupt blob)")
        return obj.data

    def materialize(self, artifact: Artifact, dest: Path) -> Path:
        """Write ``artifact``'s files under ``dest`` (verified); returns ``dest``.

        Everything is read and verified before the first file is written, so a corrupt blob never
        leaves a half-materialized directory behind.
        """
        files = [(f.path, self.read_blob(f.digest, f"{artifact.name}:{f.path}")) for f in artifact.files]
        for rel, data in files:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return dest

    def materialize_tree(self, manifest: ReleaseManifest, dest: Path) -> Path:
        """Rebuild the platform tree of a release under ``dest`` (each artifact at its source path).

        Validating this tree validates exactly the release's bytes, not a working copy that may
        have moved on since the build.
        """
        for artifact in manifest.artifacts:
            root = dest / artifact.source
            if len(artifact.files) == 1 and artifact.files[0].path == Path(artifact.source).name:
                root = root.parent  # a single-file artifact (requirements.txt, config/<env>.yaml)
            self.materialize(artifact, root)
        return dest
