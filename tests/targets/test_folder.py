from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from finsight_release.envs.environment import Environment
from finsight_release.errors import TargetError
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.local import LocalObjectStore
from finsight_release.targets.folder import FolderTarget
from tests.mini_platform import make_platform

DEV = Environment.DEV


def test_switch_is_atomic_symlink_and_rollback_reuses_version(tmp_path: Path) -> None:
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    target = FolderTarget(tmp_path / "t", frozenset({ArtifactKind.AIRFLOW_DAGS}))
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "a")
    v2, _ = repo.build(
        make_platform(tmp_path / "p2", {"release_assets/airflow/dags/new_dag.py": "x = 1\n"}), "a"
    )
    d1, d2 = v1.artifact("airflow/dags"), v2.artifact("airflow/dags")
    assert d1 and d2
    target.apply(DEV, v1, [d1], repo)
    live = target.live_path(DEV, "airflow/dags")
    assert live.is_symlink() and not (live / "new_dag.py").exists()
    target.apply(DEV, v2, [d2], repo)
    assert (live / "new_dag.py").exists() and target.verify(DEV, v2, [d2]) == []
    staged_v1 = target.version_dir(DEV, d1)
    mtime = staged_v1.stat().st_mtime_ns
    target.apply(DEV, v1, [d1], repo)  # rollback: no re-materialization
    assert staged_v1.stat().st_mtime_ns == mtime
    assert target.live_digest(DEV, "airflow/dags") == d1.digest
    assert not [p for p in live.parent.iterdir() if p.name.endswith(".tmp")]


def test_verify_detects_tampering(tmp_path: Path) -> None:
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    target = FolderTarget(tmp_path / "t", frozenset({ArtifactKind.AIRFLOW_DAGS}))
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "a")
    d1 = v1.artifact("airflow/dags")
    assert d1
    target.apply(DEV, v1, [d1], repo)
    path = target.live_path(DEV, "airflow/dags") / "ingest_core.py"
    os.chmod(path, 0o644)
    path.write_text("hacked on the box\n")
    assert "modified on the target" in target.verify(DEV, v1, [d1])[0]


def test_published_folders_are_readable_by_other_users_whatever_the_umask(tmp_path: Path) -> None:
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    target = FolderTarget(
        tmp_path / "t", frozenset({ArtifactKind.AIRFLOW_DAGS, ArtifactKind.SPARK_JOB})
    )
    v1, _ = repo.build(
        make_platform(tmp_path / "p1", {"release_assets/airflow/dags/sub/x.py": "x = 1\n"}), "a"
    )
    artifacts = [a for a in v1.artifacts if a.kind in target.kinds]
    old = os.umask(0o077)  # a deployer whose umask would make everything private
    try:
        target.apply(DEV, v1, artifacts, repo)
    finally:
        os.umask(old)
    modes = {}
    for path in (tmp_path / "t").rglob("*"):
        if not path.is_symlink():
            modes[path.relative_to(tmp_path).as_posix()] = stat.S_IMODE(path.stat().st_mode)
    assert modes["t/dev/versions/airflow/dags"] == 0o755 and modes["t/dev/current"] == 0o755
    assert any(p.endswith("/sub/x.py") for p in modes) and any(p.endswith("/sub") for p in modes)
    wrong = {
        p: oct(m) for p, m in modes.items() if m != (0o644 if (tmp_path / p).is_file() else 0o755)
    }
    assert not wrong
    dags = target.live_path(DEV, "airflow/dags")
    assert stat.S_IMODE((dags / "sub" / "x.py").stat().st_mode) == 0o644


def test_switch_refuses_an_unstaged_version_and_retires_removed_artifacts(tmp_path: Path) -> None:
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    target = FolderTarget(tmp_path / "t", frozenset({ArtifactKind.AIRFLOW_DAGS}))
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "a")
    d1 = v1.artifact("airflow/dags")
    assert d1
    with pytest.raises(TargetError, match="not staged"):
        target.switch(DEV, v1, [d1])
    assert not target.live_path(DEV, "airflow/dags").exists()
    target.prepare(DEV, v1, [d1], repo)
    assert not target.live_path(DEV, "airflow/dags").exists()  # prepared, not live
    target.switch(DEV, v1, [d1])
    assert target.live_digest(DEV, "airflow/dags") == d1.digest
    target.switch(DEV, v1, [], retired=["airflow/dags"])
    assert not target.live_path(DEV, "airflow/dags").exists()
