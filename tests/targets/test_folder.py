from __future__ import annotations

import os
from pathlib import Path

from finsight_release.envs.environment import Environment
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
    v2, _ = repo.build(make_platform(tmp_path / "p2", {"release_assets/airflow/dags/new_dag.py": "x = 1\n"}), "a")
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
