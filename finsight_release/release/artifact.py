"""Artifacts: deployable units of one kind, identified by a sha256 over their normalized content.

Normalization: files are taken in sorted POSIX-relative-path order and only their path and bytes
count, so modification times, permissions and directory walk order never change a digest.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

# Generated or machine-local files never belong to an artifact.
IGNORED_DIRS = frozenset({"__pycache__", "target", "logs", "dbt_packages", ".pytest_cache", ".git"})
IGNORED_SUFFIXES = (".pyc", ".pyo", ".duckdb", ".duckdb.wal", ".log")
IGNORED_NAMES = frozenset({".DS_Store", ".user.yml"})


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


def list_files(root: Path) -> list[tuple[str, Path]]:
    """Files under ``root`` (or ``root`` itself if a file) as sorted (posix relative path, path) pairs.

    Symlinks are not followed: a link leaving the tree must never pull outside bytes into a release.
    """
    if root.is_file():
        return [(root.name, root)]
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_symlink() or not path.is_file() or is_ignored(relative):
            continue
        found.append((relative.as_posix(), path))
    return sorted(found)


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
    contents: dict[str, bytes] | None = None,
) -> Artifact:
    """Hash the files under ``root`` into an :class:`Artifact`.

    When ``contents`` is given, the bytes read are stored into it by file digest so the caller can
    write blobs without reading the files twice.
    """
    entries = []
    for rel, path in list_files(root):
        data = path.read_bytes()
        digest = sha256_bytes(data)
        if contents is not None:
            contents[digest] = data
        entries.append(ArtifactFile(path=rel, digest=digest, size=len(data)))
    meta = dict(metadata or {})
    return Artifact(
        kind=kind,
        name=name,
        source=root.relative_to(platform).as_posix(),
        digest=digest_entries(entries, meta),
        files=tuple(entries),
        metadata=meta,
    )
