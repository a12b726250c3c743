"""Releases in a store: content-addressed blobs plus one manifest per release.

Key layout::

    blobs/sha256/<2 hex>/<64 hex>   file contents, by digest (shared by every release that has them)
    releases/<release id>.json      the manifest, written last, so its presence implies its blobs

A blob can still go missing or rot after the fact (a lifecycle rule, a bad disk, a hand edit), so
every build re-checks the blobs of its release, existing or new, and rewrites the bad ones from the
tree: building the same tree again is how a damaged release is repaired.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import ValidationError

from finsight_release.errors import (
    ArtifactError,
    DigestMismatchError,
    SizeLimitError,
    UnknownReleaseError,
)
from finsight_release.release.artifact import (
    Artifact,
    TreeFile,
    build_artifact,
    sha256_bytes,
    walk_files,
)
from finsight_release.release.changeset import compute_change_set
from finsight_release.release.layout import ArtifactSource, discover
from finsight_release.release.manifest import ReleaseManifest, release_id_for
from finsight_release.settings import MB, SizeLimits, load_size_limits
from finsight_release.store.base import ObjectStore

Progress = Callable[[str], None]


def blob_key(digest: str) -> str:
    """Store key of a content blob."""
    return f"blobs/sha256/{digest[:2]}/{digest}"


def manifest_key(release_id: str) -> str:
    """Store key of a release manifest."""
    return f"releases/{release_id}.json"


def git_dirty(platform: Path) -> bool | None:
    """Whether the platform tree has uncommitted changes (None when it is not a git repository)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(platform), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def git_sha(platform: Path) -> str | None:
    """HEAD of the platform tree's git repository, or None when it is not one."""
    try:
        out = subprocess.run(
            ["git", "-C", str(platform), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class BlobState(StrEnum):
    """What a build found at a blob's key: already right, absent (now stored) or corrupt (now replaced)."""

    PRESENT = "present"
    STORED = "stored"
    REPAIRED = "repaired"


@dataclass(frozen=True)
class BlobSync:
    """How many of a release's blobs a build found present, stored anew, or repaired (were corrupt)."""

    present: int
    stored: int
    repaired: int

    @property
    def total(self) -> int:
        return self.present + self.stored + self.repaired


def check_release_size(
    listed: list[tuple[ArtifactSource, list[TreeFile]]], limits: SizeLimits
) -> None:
    """SizeLimitError naming the tree's total, the cap and its largest file when over the release cap."""
    files = [(f.size, f"{src.name}:{f.relative}") for src, tree in listed for f in tree]
    total = sum(size for size, _ in files)
    if total > limits.max_release_bytes:
        size, name = max(files)
        raise SizeLimitError(
            f"release is {total / MB:.1f} MB, over the {limits.max_release_mb:g} MB per-release cap "
            f"(FINSIGHT_MAX_RELEASE_MB); largest file {name} ({size / MB:.1f} MB)"
        )


class ReleaseRepository:
    """Reads and writes releases and their blobs in an :class:`ObjectStore`.

    ``limits`` caps file and release sizes; by default they are read from the environment at each
    scan (``FINSIGHT_MAX_FILE_MB``, ``FINSIGHT_MAX_RELEASE_MB``).
    """

    def __init__(self, store: ObjectStore, limits: SizeLimits | None = None) -> None:
        self.store = store
        self.limits = limits

    def scan(
        self, platform: Path, sources: dict[str, Path] | None = None, strict: bool = True
    ) -> tuple[Artifact, ...]:
        """Hash every artifact of ``platform``, streaming each file once; ``sources`` collects the
        path of each digest. ``strict=False`` (validation) leaves out unsafe symlinks and tolerates
        an unusable image spec, for checks to report (see :func:`discover`, :func:`walk_files`).

        The whole tree is listed and measured before a byte is hashed: a file or release over its
        size cap fails in the time it takes to stat it (SizeLimitError, UnsafeSymlinkError).
        """
        limits = self.limits or load_size_limits()
        listed = [
            (src, walk_files(src.root, platform, strict)) for src in discover(platform, strict)
        ]
        check_release_size(listed, limits)
        return tuple(
            build_artifact(
                src.kind, src.name, src.root, platform, src.metadata, sources, strict, limits, files
            )
            for src, files in listed
        )

    def build(
        self,
        platform: Path,
        author: str,
        base: ReleaseManifest | None = None,
        progress: Progress | None = None,
    ) -> tuple[ReleaseManifest, bool]:
        """Build the release of ``platform``; returns (manifest, created).

        Building an unchanged tree again returns the existing manifest; it writes nothing unless a
        blob of that release is missing or corrupt in the store, which it then rewrites from the tree
        and reports through ``progress``.
        """
        sources: dict[str, Path] = {}
        artifacts = self.scan(platform, sources)
        release_id = release_id_for(artifacts)
        existing = self.find(release_id)
        sync = self.sync_blobs(sources)
        if existing is not None:
            if progress:
                progress(f"already built: {self._sync_summary(sync, existing=True)}")
            return existing, False
        if progress:
            progress(f"{self._sync_summary(sync, existing=False)} for {len(artifacts)} artifacts")
        manifest = ReleaseManifest(
            release_id=release_id,
            git_sha=git_sha(platform),
            git_dirty=git_dirty(platform),
            author=author,
            artifacts=artifacts,
            change_set=compute_change_set(base.release_id, base.artifacts, artifacts)
            if base
            else None,
        )
        created = self.store.put_if_absent(
            manifest_key(release_id), manifest.model_dump_json().encode()
        )
        return (manifest if created else self.get(release_id)), created

    def sync_blobs(self, sources: dict[str, Path]) -> BlobSync:
        """Make the store hold the right bytes for every digest in ``sources`` (digest -> file).

        Each blob is hashed where it is stored: a missing one is stored, one whose bytes do not match
        its digest is replaced (atomically, from the file). Files are streamed, never held whole.
        """

        def sync(digest: str) -> BlobState:
            key, path = blob_key(digest), sources[digest]
            stored = self.store.sha256_of(key)
            if stored == digest:
                return BlobState.PRESENT
            if stored is None:
                # False: a concurrent build stored it between our check and our write.
                return (
                    BlobState.STORED
                    if self.store.put_file(key, path, digest)
                    else BlobState.PRESENT
                )
            self.store.put_file(key, path, digest, replace=True)
            return BlobState.REPAIRED

        with ThreadPoolExecutor(max_workers=8) as pool:
            states = list(pool.map(sync, sorted(sources)))
        return BlobSync(
            present=states.count(BlobState.PRESENT),
            stored=states.count(BlobState.STORED),
            repaired=states.count(BlobState.REPAIRED),
        )

    @staticmethod
    def _sync_summary(sync: BlobSync, existing: bool) -> str:
        """One line for the build's progress: new blobs, or what was repaired in an existing release."""
        if not existing:
            line = f"stored {sync.stored} new blobs of {sync.total}"
            return line + (f", repaired {sync.repaired} corrupt" if sync.repaired else "")
        fixed = sync.stored + sync.repaired
        if not fixed:
            return f"all {sync.total} blobs verified"
        return f"repaired {fixed} of {sync.total} blobs ({sync.stored} missing, {sync.repaired} corrupt)"

    def find(self, release_id: str) -> ReleaseManifest | None:
        """The manifest of ``release_id`` or None when there is no such release."""
        obj = self.store.get(manifest_key(release_id))
        if obj is None:
            return None
        try:
            return ReleaseManifest.model_validate_json(obj.data)
        except ValidationError as exc:
            raise ArtifactError(
                f"manifest of release {release_id} is corrupt: {exc.errors()[0]['msg']}"
            ) from exc

    def get(self, release_id: str) -> ReleaseManifest:
        """The manifest of ``release_id``; raises UnknownReleaseError when absent."""
        manifest = self.find(release_id)
        if manifest is None:
            raise UnknownReleaseError(
                f"unknown release {release_id!r} (no manifest in store {self.store.url})"
            )
        return manifest

    def list_ids(self) -> list[str]:
        """Every release id in the store (manifests only: ``releases/<id>/...`` holds its verdicts)."""
        return [
            k.removeprefix("releases/").removesuffix(".json")
            for k in self.store.list("releases/")
            if k.count("/") == 1 and k.endswith(".json")
        ]

    def read_blob(self, digest: str, what: str) -> bytes:
        """Bytes of a blob, verified against its digest; ``what`` names it in errors."""
        obj = self.store.get(blob_key(digest))
        if obj is None:
            raise ArtifactError(f"{what}: blob {digest[:12]} missing from store {self.store.url}")
        if sha256_bytes(obj.data) != digest:
            raise DigestMismatchError(
                f"{what}: stored bytes do not match digest {digest[:12]} (corrupt blob)"
            )
        return obj.data

    def materialize(self, artifact: Artifact, dest: Path) -> Path:
        """Write ``artifact``'s files under ``dest`` (verified); returns ``dest``.

        Everything is read and verified before the first file is written, so a corrupt blob never
        leaves a half-materialized directory behind.
        """
        files = [
            (f.path, self.read_blob(f.digest, f"{artifact.name}:{f.path}")) for f in artifact.files
        ]
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
