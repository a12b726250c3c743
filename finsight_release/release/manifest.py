"""Release manifests: an immutable, content-addressed set of artifacts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.changeset import ChangeSet


def release_id_for(artifacts: tuple[Artifact, ...]) -> str:
    """Release id from the artifacts' names and digests only: the same tree gives the same id."""
    h = hashlib.sha256()
    for a in sorted(artifacts, key=lambda a: a.name):
        h.update(f"{a.kind}\0{a.name}\0{a.digest}\n".encode())
    return "r-" + h.hexdigest()[:16]


class ReleaseManifest(BaseModel):
    """A release: id derived from its artifacts, plus provenance and the change set at build time.

    Only ``artifacts`` determine ``release_id``; ``git_sha``, ``git_dirty``, ``author``,
    ``created_at`` and ``change_set`` record the first build and never change afterwards.
    ``git_dirty`` says the tree had uncommitted changes, so ``git_sha`` alone does not name its
    content (the release id, a digest of the tree's artifacts, does).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    release_id: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    git_sha: str | None = None
    git_dirty: bool | None = None
    author: str
    artifacts: tuple[Artifact, ...]
    change_set: ChangeSet | None = None

    def __str__(self) -> str:
        return self.release_id

    def artifact(self, name: str) -> Artifact | None:
        """The artifact with this name, or None."""
        return next((a for a in self.artifacts if a.name == name), None)

    def of_kind(self, kind: ArtifactKind) -> tuple[Artifact, ...]:
        """Artifacts of one kind, in name order."""
        return tuple(a for a in self.artifacts if a.kind is kind)

    @property
    def digests(self) -> dict[str, str]:
        return {a.name: a.digest for a in self.artifacts}
