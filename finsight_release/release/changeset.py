"""Change sets: what differs between two releases, and how that change must be shipped."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from finsight_release.release.artifact import Artifact, ArtifactKind


class ChangeClass(StrEnum):
    """How a change ships.

    DAG_ONLY is the fast path (swap the DAG bundle, seconds). REQUIREMENTS is the slow path: an MWAA
    environment update takes ~20 minutes, so it is flagged and scheduled apart. The others each go to
    their own target.
    """

    DAG_ONLY = "dag_only"
    REQUIREMENTS = "requirements"
    DBT = "dbt"
    INFRA = "infra"
    STREAMING = "streaming"
    SPARK = "spark"
    CONFIG = "config"
    IMAGES = "images"

    @property
    def is_slow_path(self) -> bool:
        return self is ChangeClass.REQUIREMENTS


KIND_CLASS: dict[ArtifactKind, ChangeClass] = {
    ArtifactKind.AIRFLOW_DAGS: ChangeClass.DAG_ONLY,
    ArtifactKind.AIRFLOW_REQUIREMENTS: ChangeClass.REQUIREMENTS,
    ArtifactKind.AIRFLOW_PLUGINS: ChangeClass.REQUIREMENTS,
    ArtifactKind.DBT_PROJECT: ChangeClass.DBT,
    ArtifactKind.TERRAFORM_STACK: ChangeClass.INFRA,
    ArtifactKind.STREAM_SCHEMA: ChangeClass.STREAMING,
    ArtifactKind.SPARK_JOB: ChangeClass.SPARK,
    ArtifactKind.ENV_CONFIG: ChangeClass.CONFIG,
    ArtifactKind.CONTAINER_IMAGE: ChangeClass.IMAGES,
}


class ArtifactChange(BaseModel):
    """One artifact that differs: added, removed or modified, with the files that changed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: ArtifactKind
    change: str  # "added" | "removed" | "modified"
    old_digest: str | None
    new_digest: str | None
    files: tuple[str, ...] = ()


class ChangeSet(BaseModel):
    """The difference from ``base_release`` (None: first release) to a release, classified."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_release: str | None
    changes: tuple[ArtifactChange, ...]

    @property
    def classes(self) -> frozenset[ChangeClass]:
        return frozenset(KIND_CLASS[c.kind] for c in self.changes)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def is_dag_only(self) -> bool:
        """True when only the DAG bundle changed: the fast path."""
        return self.classes == {ChangeClass.DAG_ONLY}

    @property
    def is_slow_path(self) -> bool:
        """True when requirements or plugins changed: an MWAA environment update (~20 min)."""
        return any(c.is_slow_path for c in self.classes)

    @property
    def changed_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.changes)

    def summary(self) -> str:
        """One line: classes and counts, e.g. ``dag_only: 1 modified (airflow/dags: 1 file)``."""
        if not self.changes:
            return "no changes"
        parts = []
        for c in self.changes:
            detail = f" ({len(c.files)} files)" if c.files else ""
            parts.append(f"{c.name} {c.change}{detail}")
        label = ",".join(sorted(self.classes))
        return f"{label}: " + "; ".join(parts)


def diff_files(old: Artifact, new: Artifact) -> tuple[str, ...]:
    """Paths of files added, removed or modified between two versions of one artifact."""
    before = {f.path: f.digest for f in old.files}
    after = {f.path: f.digest for f in new.files}
    return tuple(sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p)))


def compute_change_set(
    base_id: str | None, base: tuple[Artifact, ...], new: tuple[Artifact, ...]
) -> ChangeSet:
    """Compare two artifact lists by name and digest."""
    old_by_name = {a.name: a for a in base}
    new_by_name = {a.name: a for a in new}
    changes = []
    for name in sorted(old_by_name.keys() | new_by_name.keys()):
        old, cur = old_by_name.get(name), new_by_name.get(name)
        if old and cur and old.digest == cur.digest:
            continue
        if old and cur:
            changes.append(
                ArtifactChange(
                    name=name,
                    kind=cur.kind,
                    change="modified",
                    old_digest=old.digest,
                    new_digest=cur.digest,
                    files=diff_files(old, cur),
                )
            )
        elif cur:
            changes.append(
                ArtifactChange(
                    name=name, kind=cur.kind, change="added", old_digest=None, new_digest=cur.digest
                )
            )
        elif old:
            changes.append(
                ArtifactChange(
                    name=name,
                    kind=old.kind,
                    change="removed",
                    old_digest=old.digest,
                    new_digest=None,
                )
            )
    return ChangeSet(base_release=base_id, changes=tuple(changes))
