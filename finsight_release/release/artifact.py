"""Artifacts: deployable units of one kind, identified by a sha256 over their normalized content.

Normalization: files are taken in sorted POSIX-relative-path order and only their path and bytes
count, so modification times, permissions and directory walk order never change a digest.

Hostile trees: a symlink is followed only when it resolves inside the platform tree; one that leaves
it, dangles or loops is an :class:`UnsafeSymlinkError` when building (``strict``), and left out when
validating, where the ``secrets.scan`` check reports it. Files are hashed as streams, and a file over
the per-file cap is refused by its size on disk before a byte of it is read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from finsight_release.errors import ArtifactError, SizeLimitError, UnsafeSymlinkError
from finsight_release.settings import MB, SizeLimits, load_size_limits

# Generated or machine-local files never belong to an artifact.
IGNORED_DIRS = frozenset({"__pycache__", "target", "logs", "dbt_packages", ".pytest_cache", ".git"})
IGNORED_SUFFIXES = (".pyc", ".pyo", ".duckdb", ".duckdb.wal", ".log")
IGNORED_NAMES = frozenset({".DS_Store", ".user.yml"})
# Read size when hashing: memory stays flat whatever the file size.
CHUNK_BYTES = 1024 * 1024


class ArtifactKind(StrEnum):
    """The kinds of release artifact, each deployed to its own target."""

    AIRFLOW_DAGS = "airflow_dags"
    AIRFLOW_REQUIREMENTS = "airflow_requirements"
    AIRFLOW_PLUGINS = "airflow_plugins"
    DBT_PROJECT = "dbt_project"
    SPARK_JOB = "spark_job"
    STREAM_SCHEMA = "stream_schema"
    TERRAFORM_STACK = "terraform_stack"
    ENV_CONFIG = "env_config"
    CONTAINER_IMAGE = "container_image"


class ArtifactFile(BaseModel):
    """One file of an artifact: its path relative to the artifact root and the sha256 of its bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    digest: str
    size: int


class Artifact(BaseModel):
    """A deployable unit: kind, unique name within a release, content digest and file list.

    ``source`` is the artifact root relative to the platform tree (a directory or a single file).
    ``metadata`` carries kind-specific facts (for images: ECR repository and immutable digest).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ArtifactKind
    name: str
    source: str
    digest: str
    files: tuple[ArtifactFile, ...]
    metadata: dict[str, str] = Field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.name}@{self.digest[:12]}"

    @property
    def short_digest(self) -> str:
        return self.digest[:12]


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def is_ignored(relative: Path) -> bool:
    """True for generated or machine-local files that are not part of any artifact."""
    if any(part in IGNORED_DIRS for part in relative.parts[:-1]):
        return True
    return relative.name in IGNORED_NAMES or relative.name.endswith(IGNORED_SUFFIXES)


@dataclass(frozen=True)
class TreeFile:
    """A file to pack: its posix path relative to the artifact root, where to read it, its size on disk."""

    relative: str
    path: Path
    size: int


def _display(path: Path, boundary: Path) -> str:
    """``path`` relative to the platform tree when it is inside it (for messages), else as given."""
    try:
        return path.relative_to(boundary).as_posix()
    except ValueError:
        return str(path)


def resolve_inside(link: Path, boundary: Path, strict: bool, shown: str) -> Path | None:
    """Where symlink ``link`` resolves to, when that is an existing path inside ``boundary``.

    Otherwise UnsafeSymlinkError naming it (``strict``), or None: the link is left out.
    """
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # dangling, or a loop of links
        problem = f"is dangling or loops ({os.readlink(link) if link.is_symlink() else link})"
    else:
        if target.is_relative_to(boundary):
            return target
        problem = f"-> {target}, outside the platform tree"
    if strict:
        raise UnsafeSymlinkError(
            f"symlink {shown} {problem}: replace it with the files themselves or point it inside the tree"
        )
    return None


class _TreeWalk:
    """Collects the files under one artifact root, following only symlinks that stay inside the tree."""

    def __init__(self, boundary: Path, shown_root: str, strict: bool) -> None:
        self.boundary, self.shown_root, self.strict = boundary, shown_root, strict
        self.files: list[TreeFile] = []

    def shown(self, relative: PurePosixPath) -> str:
        return f"{self.shown_root}/{relative}" if self.shown_root else str(relative)

    def walk(self, real_dir: Path, prefix: PurePosixPath, ancestors: frozenset[Path]) -> None:
        """Add the files of directory ``real_dir`` (resolved) as ``prefix``/name; ``ancestors`` are the
        resolved directories above it, so a link back into one of them is a loop, not infinite work."""
        with os.scandir(real_dir) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                relative = prefix / entry.name
                path = real_dir / entry.name
                if entry.name in IGNORED_DIRS and not entry.is_file():
                    continue  # generated folders (dbt target/, logs/), linked or not, never ship
                if entry.is_dir(follow_symlinks=False):
                    self.enter(path, relative, ancestors)
                    continue
                if is_ignored(Path(relative)):
                    continue  # never packed, so never followed either
                if entry.is_symlink():
                    self.follow(path, relative, ancestors)
                elif entry.is_file(follow_symlinks=False):
                    self.files.append(
                        TreeFile(
                            relative.as_posix(), path, entry.stat(follow_symlinks=False).st_size
                        )
                    )

    def enter(self, real_dir: Path, relative: PurePosixPath, ancestors: frozenset[Path]) -> None:
        if real_dir in ancestors:
            if self.strict:
                raise UnsafeSymlinkError(
                    f"symlink loop at {self.shown(relative)}: it leads back into {_display(real_dir, self.boundary)}"
                )
            return
        self.walk(real_dir, relative, ancestors | {real_dir})

    def follow(self, link: Path, relative: PurePosixPath, ancestors: frozenset[Path]) -> None:
        target = resolve_inside(link, self.boundary, self.strict, self.shown(relative))
        if target is None:
            return
        if target.is_dir():
            self.enter(target, relative, ancestors)
        elif target.is_file():  # a link to a device or a FIFO is never content
            self.files.append(TreeFile(relative.as_posix(), target, target.stat().st_size))


def walk_files(root: Path, platform: Path | None = None, strict: bool = False) -> list[TreeFile]:
    """Files under ``root`` (or ``root`` itself if a file), sorted by relative path.

    Symlinks (``root`` itself included) are followed only when they resolve inside ``platform``
    (default: ``root``); any other is an UnsafeSymlinkError when ``strict``, else left out.
    """
    boundary = (platform or root).resolve()
    shown = _display(root, platform) if platform else ""
    walker = _TreeWalk(boundary, shown, strict)
    if root.is_symlink() or not root.resolve().is_relative_to(boundary):
        # The root itself, or a folder above it, is a link: it must land inside the tree too.
        real_root = resolve_inside(root, boundary, strict, shown or str(root))
    else:
        real_root = root.resolve()
    if real_root is None:
        return []
    if real_root.is_file():
        return [TreeFile(root.name, real_root, real_root.stat().st_size)]
    if real_root.is_dir():
        walker.walk(real_root, PurePosixPath(), frozenset({real_root}))
    return sorted(walker.files, key=lambda f: f.relative)


def list_files(
    root: Path, platform: Path | None = None, strict: bool = False
) -> list[tuple[str, Path]]:
    """Files under ``root`` as sorted (posix relative path, path) pairs; see :func:`walk_files`.

    A symlink is followed only when it stays inside ``platform`` (default ``root``): a link leaving
    the tree must never pull outside bytes into a release.
    """
    return [(f.relative, f.path) for f in walk_files(root, platform, strict)]


def check_file_size(file: TreeFile, shown: str, limits: SizeLimits) -> None:
    """SizeLimitError naming the file and the cap when ``file`` is over the per-file cap."""
    if file.size > limits.max_file_bytes:
        raise SizeLimitError(
            f"{shown} is {file.size / MB:.1f} MB, over the {limits.max_file_mb:g} MB per-file cap "
            "(FINSIGHT_MAX_FILE_MB): keep large data out of the platform tree"
        )


def hash_file(path: Path, shown: str, limits: SizeLimits) -> tuple[str, int]:
    """(hex sha256, size) of a file read in chunks; SizeLimitError if it grows past the cap meanwhile."""
    h = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                size += len(chunk)
                if size > limits.max_file_bytes:
                    check_file_size(TreeFile(shown, path, size), shown, limits)
                h.update(chunk)
    except OSError as exc:
        raise ArtifactError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    return h.hexdigest(), size


def digest_entries(entries: list[ArtifactFile], metadata: dict[str, str] | None = None) -> str:
    """Artifact digest from its (already sorted) file entries and metadata."""
    h = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.path):
        h.update(f"{entry.path}\0{entry.digest}\n".encode())
    for key in sorted(metadata or {}):
        h.update(f"meta:{key}\0{(metadata or {})[key]}\n".encode())
    return h.hexdigest()


def build_artifact(
    kind: ArtifactKind,
    name: str,
    root: Path,
    platform: Path,
    metadata: dict[str, str] | None = None,
    sources: dict[str, Path] | None = None,
    strict: bool = True,
    limits: SizeLimits | None = None,
    files: list[TreeFile] | None = None,
) -> Artifact:
    """Hash the files under ``root`` (or the already walked ``files``) into an :class:`Artifact`.

    When ``sources`` is given, each file's path is recorded under its digest so the caller can
    stream blobs into a store without hashing again. ``strict`` and symlinks: see
    :func:`walk_files`; a file over ``limits`` (default: from the environment) is a SizeLimitError.
    """
    limits = limits or load_size_limits()
    entries = []
    for file in walk_files(root, platform, strict) if files is None else files:
        shown = _display(root / file.relative if root.is_dir() else root, platform)
        check_file_size(file, shown, limits)
        digest, size = hash_file(file.path, shown, limits)
        if sources is not None:
            sources[digest] = file.path
        entries.append(ArtifactFile(path=file.relative, digest=digest, size=size))
    meta = dict(metadata or {})
    return Artifact(
        kind=kind,
        name=name,
        source=root.relative_to(platform).as_posix(),
        digest=digest_entries(entries, meta),
        files=tuple(entries),
        metadata=meta,
    )
