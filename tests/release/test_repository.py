from __future__ import annotations

import os
from pathlib import Path

import pytest

from finsight_release.errors import (
    ArtifactError,
    DigestMismatchError,
    PlatformTreeError,
    UnknownReleaseError,
)
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.changeset import ChangeClass
from finsight_release.release.repository import ReleaseRepository, blob_key
from finsight_release.store.local import LocalObjectStore
from tests.mini_platform import make_platform


@pytest.fixture
def repo(tmp_path: Path) -> ReleaseRepository:
    return ReleaseRepository(LocalObjectStore(tmp_path / "store"))


def test_every_kind_is_discovered(tmp_path: Path, repo: ReleaseRepository) -> None:
    manifest, created = repo.build(make_platform(tmp_path / "p"), "alice")
    assert created
    assert {a.kind for a in manifest.artifacts} == set(ArtifactKind)
    image = manifest.artifact("images/airflow")
    assert image and image.metadata["image_digest"] == "sha256:" + "b" * 64


def test_same_tree_same_release_and_nothing_written(
    tmp_path: Path, repo: ReleaseRepository
) -> None:
    platform = make_platform(tmp_path / "p")
    first, _ = repo.build(platform, "alice")
    keys_before = repo.store.list("")
    # Touch timestamps and permissions: not part of the digest.
    for path in platform.rglob("*.py"):
        os.utime(path, (0, 0))
        path.chmod(0o600)
    again, created = repo.build(platform, "bob")
    assert again.release_id == first.release_id and not created
    assert again.author == "alice"
    assert repo.store.list("") == keys_before


def test_dag_only_change_is_fast_path(tmp_path: Path, repo: ReleaseRepository) -> None:
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "alice")
    platform2 = make_platform(
        tmp_path / "p2", {"release_assets/airflow/dags/ingest_core.py": "# changed\n"}
    )
    v2, _ = repo.build(platform2, "alice", base=v1)
    assert v2.release_id != v1.release_id
    assert v2.change_set and v2.change_set.is_dag_only and not v2.change_set.is_slow_path
    (change,) = v2.change_set.changes
    assert change.files == ("ingest_core.py",)


def test_requirements_change_is_slow_path(tmp_path: Path, repo: ReleaseRepository) -> None:
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "alice")
    p2 = make_platform(
        tmp_path / "p2", {"release_assets/airflow/requirements.txt": "pandas==2.2.3\n"}
    )
    v2, _ = repo.build(p2, "alice", base=v1)
    assert v2.change_set and v2.change_set.is_slow_path
    assert ChangeClass.REQUIREMENTS in v2.change_set.classes


def test_materialize_verifies_digests(tmp_path: Path, repo: ReleaseRepository) -> None:
    manifest, _ = repo.build(make_platform(tmp_path / "p"), "alice")
    dags = manifest.artifact("airflow/dags")
    assert dags
    out = repo.materialize(dags, tmp_path / "out")
    assert (out / "ingest_core.py").read_text().startswith("# dag one")
    blob = repo.store.root / blob_key(dags.files[0].digest)  # type: ignore[attr-defined]
    blob.write_bytes(b"tampered")
    with pytest.raises(DigestMismatchError, match="do not match digest"):
        repo.materialize(dags, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()
    blob.unlink()
    with pytest.raises(ArtifactError, match="missing from store"):
        repo.materialize(dags, tmp_path / "out3")


def test_unknown_release_and_bad_tree(tmp_path: Path, repo: ReleaseRepository) -> None:
    with pytest.raises(UnknownReleaseError, match="r-doesnotexist"):
        repo.get("r-doesnotexist")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PlatformTreeError, match="not a platform tree"):
        repo.build(tmp_path / "empty", "alice")


def test_mutable_image_tag_is_refused(tmp_path: Path, repo: ReleaseRepository) -> None:
    platform = make_platform(
        tmp_path / "p",
        {"release_assets/images/airflow/image.yaml": "repository: x/finsight\ndigest: latest\n"},
    )
    with pytest.raises(ArtifactError, match="immutable digest"):
        repo.build(platform, "alice")
    assert repo.list_ids() == []


def test_git_sha_comes_with_a_dirty_flag(tmp_path: Path) -> None:
    import subprocess

    from finsight_release.release.repository import git_dirty

    tree = make_platform(tmp_path / "p", without="dbt_project")
    assert git_dirty(tree) is None  # not a repository
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    clean, _ = repo.build(tree, "alice")
    assert clean.git_sha and clean.git_dirty is False
    (tree / "release_assets/airflow/dags/ingest_core.py").write_text("# edited, not committed\n")
    dirty, _ = repo.build(tree, "alice")
    assert dirty.git_sha == clean.git_sha and dirty.git_dirty is True
    assert dirty.release_id != clean.release_id  # the content, not the commit, names a release
