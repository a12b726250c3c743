"""Hostile platform trees: symlinks leaving the tree, linked artifact roots, loops, oversized files.

Each bad case is one line naming the culprit, and nothing is written to the store.
"""

from __future__ import annotations

import os
import shutil
import tracemalloc
from pathlib import Path

import pytest

from finsight_release.errors import ConfigError, SizeLimitError, UnsafeSymlinkError
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import SizeLimits, load_settings, load_size_limits
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.finding import Severity
from finsight_release.validate.secrets.scan import SecretsScanCheck
from tests.mini_platform import make_platform

DAGS = "release_assets/airflow/dags"


@pytest.fixture
def repo(tmp_path: Path) -> ReleaseRepository:
    return ReleaseRepository(LocalObjectStore(tmp_path / "store"))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the platform tree, standing for anything outside it (/etc, a home directory)."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.py").write_text("TOKEN = 'do not ship'\n")
    return folder


def refused(repo: ReleaseRepository, platform: Path, error: type[Exception], *names: str) -> str:
    """Build ``platform``, expecting ``error``: one line naming ``names``; the store stays empty."""
    with pytest.raises(error) as info:
        repo.build(platform, "alice")
    message = str(info.value)
    assert "\n" not in message
    for name in names:
        assert name in message
    assert repo.store.list("") == []
    return message


def test_escaping_symlinked_job_folder_is_refused(
    tmp_path: Path, repo: ReleaseRepository, outside: Path
) -> None:
    platform = make_platform(tmp_path / "p")
    (platform / "release_assets/spark/evil").symlink_to(outside)
    message = refused(repo, platform, UnsafeSymlinkError, "release_assets/spark/evil", str(outside))
    assert "outside the platform tree" in message


def test_escaping_symlinked_artifact_root_is_refused(
    tmp_path: Path, repo: ReleaseRepository, outside: Path
) -> None:
    platform = make_platform(tmp_path / "p")
    shutil.rmtree(platform / DAGS)
    (platform / DAGS).symlink_to(outside)
    refused(repo, platform, UnsafeSymlinkError, DAGS)


def test_escaping_symlinked_file_and_folder_inside_an_artifact_are_refused(
    tmp_path: Path, repo: ReleaseRepository, outside: Path
) -> None:
    platform = make_platform(tmp_path / "p")
    (platform / DAGS / "link.py").symlink_to(outside / "secret.py")
    refused(repo, platform, UnsafeSymlinkError, f"{DAGS}/link.py")
    (platform / DAGS / "link.py").unlink()
    (platform / "dbt_project/models/vendor").symlink_to(outside)
    refused(repo, platform, UnsafeSymlinkError, "dbt_project/models/vendor")


def test_dangling_and_looping_symlinks_are_refused(tmp_path: Path, repo: ReleaseRepository) -> None:
    platform = make_platform(tmp_path / "p")
    (platform / DAGS / "gone.py").symlink_to(platform / DAGS / "deleted.py")
    refused(repo, platform, UnsafeSymlinkError, f"{DAGS}/gone.py", "dangling")
    (platform / DAGS / "gone.py").unlink()
    (platform / DAGS / "again").symlink_to("..")  # dags/again/dags/again/...
    refused(repo, platform, UnsafeSymlinkError, f"{DAGS}/again", "loop")


def test_symlinks_inside_the_tree_are_followed(tmp_path: Path, repo: ReleaseRepository) -> None:
    """A link resolving inside the tree ships the bytes it points to, exactly as a copy would."""
    copied = make_platform(tmp_path / "copied", {f"{DAGS}/common/util.py": "X = 1\n"})
    linked = make_platform(tmp_path / "linked", {"shared/util.py": "X = 1\n"})
    (linked / DAGS / "common").mkdir()
    (linked / DAGS / "common/util.py").symlink_to(linked / "shared/util.py")
    # The artifact root itself linked to a folder elsewhere in the tree: shipped, never empty.
    shutil.move(linked / DAGS, linked / "dags_source")
    (linked / DAGS).symlink_to(linked / "dags_source", target_is_directory=True)
    want, _ = ReleaseRepository(LocalObjectStore(tmp_path / "s1")).build(copied, "alice")
    got, _ = repo.build(linked, "alice")
    dags = got.artifact("airflow/dags")
    assert dags and {f.path for f in dags.files} == {
        "ingest_core.py",
        "export_partners.py",
        "common/util.py",
    }
    assert got.digests == want.digests


def test_sparse_file_over_the_file_cap_is_refused_unread(
    tmp_path: Path, repo: ReleaseRepository
) -> None:
    platform = make_platform(tmp_path / "p")
    with open(platform / "release_assets/spark/ledger_compaction/dump.parquet", "wb") as fh:
        fh.truncate(1536 * 1024 * 1024)  # 1.5 GB, sparse: no disk used, refused by its size alone
    message = refused(
        repo, platform, SizeLimitError, "release_assets/spark/ledger_compaction/dump.parquet"
    )
    assert "1536.0 MB, over the 100 MB per-file cap (FINSIGHT_MAX_FILE_MB)" in message


def test_release_over_the_release_cap_is_refused(
    tmp_path: Path, repo: ReleaseRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform(tmp_path / "p")
    for name in ("a.bin", "b.bin"):
        (platform / DAGS / name).write_bytes(os.urandom(600 * 1024))
    monkeypatch.setenv("FINSIGHT_MAX_RELEASE_MB", "1")
    message = refused(
        repo, platform, SizeLimitError, "over the 1 MB per-release cap (FINSIGHT_MAX_RELEASE_MB)"
    )
    assert "largest file airflow/dags:" in message
    monkeypatch.setenv("FINSIGHT_MAX_RELEASE_MB", "2")
    monkeypatch.setenv("FINSIGHT_MAX_FILE_MB", "0.5")
    refused(repo, platform, SizeLimitError, f"{DAGS}/a.bin", "over the 0.5 MB per-file cap")
    monkeypatch.delenv("FINSIGHT_MAX_FILE_MB")
    manifest, created = repo.build(platform, "alice")
    assert created and manifest.artifact("airflow/dags")


def test_size_caps_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSIGHT_MAX_FILE_MB", raising=False)
    monkeypatch.delenv("FINSIGHT_MAX_RELEASE_MB", raising=False)
    assert load_size_limits() == SizeLimits(max_file_mb=100, max_release_mb=2048)
    monkeypatch.setenv("FINSIGHT_MAX_FILE_MB", "250")
    assert load_settings().size_limits.max_file_bytes == 250 * 1024 * 1024
    for bad in ("lots", "0", "-5", "nan"):
        monkeypatch.setenv("FINSIGHT_MAX_RELEASE_MB", bad)
        with pytest.raises(
            ConfigError, match=f"FINSIGHT_MAX_RELEASE_MB must be a positive number.*{bad}"
        ):
            load_size_limits()


def test_validation_scan_leaves_unsafe_links_to_the_checks(
    tmp_path: Path, repo: ReleaseRepository, outside: Path
) -> None:
    """``validate`` scans non-strictly: unsafe links are left out (secrets.scan reports them), no crash."""
    platform = make_platform(tmp_path / "p")
    (platform / DAGS / "link.py").symlink_to(outside / "secret.py")
    (platform / "release_assets/spark/evil").symlink_to(outside)
    artifacts = {a.name: a for a in repo.scan(platform, strict=False)}
    dags = artifacts["airflow/dags"]
    assert "link.py" not in {f.path for f in dags.files} and dags.files
    assert artifacts["spark/evil"].files == ()
    assert repo.store.list("") == []
    # Never silent: the secrets check makes each one a blocking finding.
    findings = SecretsScanCheck().run(
        ValidationContext(platform=platform), list(artifacts.values())
    )
    flagged = {
        (f.artifact, f.severity)
        for f in findings
        if f.message == "symlink escapes the platform tree"
    }
    assert flagged == {("airflow/dags", Severity.ERROR), ("spark/evil", Severity.ERROR)}


def test_large_files_are_streamed_not_held_in_memory(tmp_path: Path) -> None:
    platform = make_platform(tmp_path / "p")
    big = platform / "release_assets/spark/ledger_compaction/model.bin"
    with open(big, "wb") as fh:
        for _ in range(32):
            fh.write(os.urandom(1024 * 1024))
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    tracemalloc.start()
    try:
        manifest, _ = repo.build(platform, "alice")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * 1024 * 1024, f"build held {peak / 2**20:.0f} MB for a 32 MB file"
    job = manifest.artifact("spark/ledger_compaction")
    assert job and any(f.path == "model.bin" and f.size == 32 * 1024 * 1024 for f in job.files)
    blob = next(f for f in job.files if f.path == "model.bin")
    assert repo.store.sha256_of(f"blobs/sha256/{blob.digest[:2]}/{blob.digest}") == blob.digest


def test_cli_build_of_a_hostile_tree_is_one_red_line_and_repairs_on_rebuild(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from finsight_release.cli import main

    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    platform = make_platform(tmp_path / "p")
    (platform / "release_assets/spark/evil").symlink_to(outside)
    result = CliRunner().invoke(main, ["build", "--platform", str(platform)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "symlink release_assets/spark/evil" in lines[0], result.output
    assert not (tmp_path / "home/store/blobs").exists()

    (platform / "release_assets/spark/evil").unlink()
    assert CliRunner().invoke(main, ["build", "--platform", str(platform)]).exit_code == 0
    blob = next(p for p in (tmp_path / "home/store/blobs").rglob("*") if p.is_file())
    blob.write_bytes(b"rot")
    rebuilt = CliRunner().invoke(main, ["build", "--platform", str(platform)])
    # The console log wraps long lines: the count is what matters here (the wording: test_blob_repair).
    assert (
        rebuilt.exit_code == 0
        and "repaired 1 of" in rebuilt.output
        and "0 missing" in rebuilt.output
    )
