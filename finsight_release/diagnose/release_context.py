"""What the failing release changed, as evidence for diagnosis: its change set and a lock diff.

A failure whose text points at one layer often has its cause in another: most often a dependency that
moved under unchanged code (a new ``croniter`` breaks a schedule, a provider release drops an import
path). The text cannot see that; the release can. This module compares the failing release with the
last good one (what the environment ran before, else the build's base release):

- the change classes (requirements, constraints, images, dbt packages, Terraform, config, DAGs ...);
- a lock diff: the resolved versions pinned in the lock-like files of both releases (pip requirements
  and constraints, ``pip freeze`` output, uv/Poetry locks, dbt ``packages.yml``/``package-lock.yml``,
  ``.terraform.lock.hcl`` providers, container ``image.yaml`` digests), package by package.

Plain Python (no Dagster): the CLI and the run-failure sensor both call ``release_evidence``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from finsight_release.release.artifact import Artifact, ArtifactFile
    from finsight_release.system import ReleaseSystem

# A lock-like file is read only up to this size: pins live in small files, and a huge one is no lock.
MAX_LOCK_FILE_BYTES = 4_000_000

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*([^\s;#,]+)")
_TOML_PACKAGE = re.compile(r'^\s*name\s*=\s*"([^"]+)"\s*\n\s*version\s*=\s*"([^"]+)"', re.MULTILINE)
_DBT_PACKAGE = re.compile(
    r'^\s*-?\s*(?:package|git|name)\s*:\s*["\']?([^"\'\s]+)["\']?\s*\n(?:\s+(?!-)\w+\s*:.*\n)*?'
    r'\s+(?:version|revision)\s*:\s*["\']?([^"\'\n]+?)["\']?\s*$',
    re.MULTILINE,
)
_TF_PROVIDER = re.compile(
    r'^\s*provider\s+"([^"]+)"\s*\{\s*\n\s*version\s*=\s*"([^"]+)"', re.MULTILINE
)
_IMAGE_FIELD = re.compile(r'^\s*(repository|digest|tag)\s*:\s*["\']?([^"\'\s#]+)', re.MULTILINE)


@dataclass(frozen=True)
class DependencyMove:
    """One resolved dependency whose version differs between the last good and the failing release.

    ``old`` is None for a package new in the failing release, ``new`` None for one it dropped.
    """

    package: str
    old: str | None
    new: str | None
    file: str

    def describe(self) -> str:
        """``croniter 1.3.8 -> 2.0.0 (requirements.txt)``."""
        return f"{self.package} {self.old or '(absent)'} -> {self.new or '(removed)'} ({self.file})"


@dataclass(frozen=True)
class ReleaseEvidence:
    """What the failing release changed against the last good one.

    ``changed`` holds change classes (``dag_only``, ``requirements``, ``dbt``, ``infra``, ``config``,
    ``images``, ``streaming``, ``spark``); ``code_changed`` is True when anything other than pinned
    dependencies and images changed (DAG code, dbt models, Terraform, config, jobs, schemas).
    """

    release_id: str
    base_release_id: str | None
    changed: frozenset[str] = frozenset()
    changed_files: tuple[str, ...] = ()
    moves: tuple[DependencyMove, ...] = field(default_factory=tuple)
    code_changed: bool = True

    def summary(self) -> str:
        """One line naming the base, the change classes and the moved dependencies."""
        base = self.base_release_id or "no earlier release"
        classes = ", ".join(sorted(self.changed)) or "nothing"
        moved = "; ".join(m.describe() for m in self.moves[:5]) or "none"
        return (
            f"{self.release_id} vs last good {base}: changed {classes}; dependencies moved: {moved}"
        )


def normalize_package(name: str) -> str:
    """PEP 503 normal form (``Foo_Bar.baz`` -> ``foo-bar-baz``), used for every ecosystem's names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_lock_like(path: str) -> bool:
    """Whether a file pins resolved dependency versions (by its name)."""
    name = PurePosixPath(path).name.lower()
    return (
        (
            name.endswith(".txt")
            and any(word in name for word in ("requirement", "constraint", "freeze", "lock"))
        )
        or name.endswith((".lock", ".lock.hcl"))
        or name
        in {"packages.yml", "package-lock.yml", "dependencies.yml", "image.yaml", "image.yml"}
    )


def parse_pins(path: str, text: str) -> dict[str, str]:
    """Resolved versions pinned in one lock-like file: normalized package name -> version.

    Ranges (``>=``) are not pins and are ignored: only an exact version says what was installed.
    """
    name = PurePosixPath(path).name.lower()
    pins: dict[str, str] = {}
    if name in {"image.yaml", "image.yml"}:
        fields: dict[str, str] = dict(_IMAGE_FIELD.findall(text))
        if "repository" in fields:
            repository = fields["repository"].rsplit("/", 1)[-1]
            pins[f"image:{repository}"] = fields.get("digest", fields.get("tag", "?"))[:19]
        return pins
    if name.endswith(".lock.hcl"):
        return {normalize_package(p.split("/", 1)[-1]): v for p, v in _TF_PROVIDER.findall(text)}
    if name.endswith(".yml"):
        return {normalize_package(p): v.strip() for p, v in _DBT_PACKAGE.findall(text)}
    if name.endswith(".lock") and "[[package]]" in text:
        return {normalize_package(p): v for p, v in _TOML_PACKAGE.findall(text)}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            pins[normalize_package(match.group(1))] = match.group(2)
    return pins


def lock_diff(
    old_files: Mapping[str, str], new_files: Mapping[str, str]
) -> tuple[DependencyMove, ...]:
    """Package-by-package differences between two sets of lock-like files (path -> text).

    Files are matched by path; a package pinned in several files (requirements and constraints) is
    reported once, from the first file (in path order) where it moved.
    """
    moves: dict[str, DependencyMove] = {}
    for path in sorted(set(old_files) | set(new_files)):
        if not is_lock_like(path):
            continue
        before = parse_pins(path, old_files.get(path, ""))
        after = parse_pins(path, new_files.get(path, ""))
        for package in sorted(set(before) | set(after)):
            if before.get(package) != after.get(package) and package not in moves:
                moves[package] = DependencyMove(
                    package, before.get(package), after.get(package), path
                )
    return tuple(moves.values())


def mentioned_moves(text_lower: str, moves: Iterable[DependencyMove]) -> list[DependencyMove]:
    """Moved packages the error text names (as ``croniter``, ``croniter_x`` or a site-packages path).

    Names are compared in their import spelling too (``apache-airflow-providers-x`` is imported as
    ``airflow.providers.x``), so a traceback through the moved package is recognised.
    """
    found = []
    for move in moves:
        if move.package.startswith("image:"):
            continue
        spellings = {move.package, move.package.replace("-", "_"), move.package.replace("-", ".")}
        if move.package.startswith("apache-airflow-providers-"):
            provider = move.package.removeprefix("apache-airflow-providers-")
            spellings.add("airflow.providers." + provider.replace("-", "."))
        if any(
            re.search(rf"(?<![\w.-]){re.escape(s)}(?![\w-])", text_lower)
            for s in spellings
            if len(s) >= 3
        ):
            found.append(move)
    return found


# Change classes that are pure dependency or image changes: everything else is "code".
_DEPENDENCY_CLASSES = frozenset({"requirements", "images"})


def evidence_from_artifacts(
    release_id: str,
    base_release_id: str | None,
    base: tuple[Artifact, ...],
    new: tuple[Artifact, ...],
    read: Callable[[Artifact, ArtifactFile], str],
) -> ReleaseEvidence:
    """Change set and lock diff of two artifact lists; ``read(artifact, file)`` returns a file's text.

    Only lock-like files of changed artifacts are read, so this stays cheap for a large release.
    """
    from finsight_release.release.changeset import KIND_CLASS, compute_change_set

    change_set = compute_change_set(base_release_id, base, new)
    old_by_name = {a.name: a for a in base}
    new_by_name = {a.name: a for a in new}
    old_files: dict[str, str] = {}
    new_files: dict[str, str] = {}
    changed_files: list[str] = []
    for change in change_set.changes:
        for side, artifacts, files in (
            ("old", old_by_name, old_files),
            ("new", new_by_name, new_files),
        ):
            artifact = artifacts.get(change.name)
            if artifact is None:
                continue
            for file in artifact.files:
                path = f"{artifact.name}/{file.path}"
                if side == "new" and (not change.files or file.path in change.files):
                    changed_files.append(path)
                if is_lock_like(file.path) and (not change.files or file.path in change.files):
                    files[path] = read(artifact, file)
    classes = {str(KIND_CLASS[c.kind]) for c in change_set.changes}
    # dbt's packages.yml moving is a dependency change even though it lives in the dbt project.
    code_paths = [p for p in changed_files if not is_lock_like(p)]
    code_changed = bool(classes - _DEPENDENCY_CLASSES) and bool(code_paths or not changed_files)
    return ReleaseEvidence(
        release_id=release_id,
        base_release_id=base_release_id,
        changed=frozenset(classes),
        changed_files=tuple(sorted(set(changed_files)))[:50],
        moves=lock_diff(old_files, new_files),
        code_changed=code_changed,
    )


def last_good_release(system: ReleaseSystem, release_id: str) -> str | None:
    """The release the failing one is compared with.

    The environment where it failed (from the audit log) and what that environment runs (or ran
    before, if the failing release is live); else the base release recorded at build time.
    """
    from finsight_release.envs.environment import Environment

    manifest = system.repo.find(release_id)
    for event in system.audit.events(release_id=release_id, limit=50):
        env_name = event.get("environment")
        if not env_name or event.get("outcome") not in {"failed", "refused"}:
            continue
        try:
            pointer, _ = system.board.read(Environment.parse(env_name))
        except Exception:  # noqa: BLE001 - an unreadable pointer only means we fall back to the base
            break
        candidate = (
            pointer.release_id if pointer.release_id != release_id else pointer.previous_release_id
        )
        if candidate and candidate != release_id:
            return candidate
    if manifest is not None and manifest.change_set is not None:
        return manifest.change_set.base_release
    return None


def release_evidence(system: ReleaseSystem, release_id: str) -> ReleaseEvidence | None:
    """The failing release's change set and lock diff against the last good release (None: unknown id)."""
    manifest = system.repo.find(release_id)
    if manifest is None:
        return None
    base_id = last_good_release(system, release_id)
    base = system.repo.find(base_id) if base_id else None

    def read(artifact: Artifact, file: ArtifactFile) -> str:
        data = system.repo.read_blob(file.digest, f"{artifact.name}:{file.path}")
        return data[:MAX_LOCK_FILE_BYTES].decode("utf-8", errors="replace")

    try:
        return evidence_from_artifacts(
            release_id,
            base.release_id if base else None,
            base.artifacts if base else (),
            manifest.artifacts,
            read,
        )
    except Exception:  # noqa: BLE001 - a missing blob must not stop a diagnosis; the text still decides
        return ReleaseEvidence(release_id=release_id, base_release_id=base_id)
