"""Property: an artifact's digest depends on its files' paths and bytes only.

Whatever order the files are written and the directories walked in, whatever their timestamps and
permissions, the same tree gives the same digest; changing one file's bytes changes it.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finsight_release.release.artifact import Artifact, ArtifactKind, build_artifact
from finsight_release.release.manifest import release_id_for
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.local import LocalObjectStore

DAGS = "release_assets/airflow/dags"
SETTINGS = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

NAMES = st.text(alphabet="abcdef_1", min_size=1, max_size=6)
# Files as {relative path: bytes}; a name is never both a file and a folder (a filesystem can't be).
TREES = st.dictionaries(
    st.lists(NAMES, min_size=1, max_size=3).map(lambda parts: "/".join(parts) + ".py"),
    st.binary(max_size=200),
    min_size=1,
    max_size=12,
)


def write_tree(root: Path, files: dict[str, bytes], rng: random.Random) -> Path:
    """Write ``files`` under ``root``'s dags folder in a shuffled order, with random times and modes."""
    order = list(files)
    rng.shuffle(order)
    for rel in order:
        path = root / DAGS / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel])
        stamp = rng.randrange(0, 2_000_000_000)
        os.utime(path, (stamp, stamp))
        path.chmod(rng.choice([0o400, 0o444, 0o600, 0o644, 0o700, 0o755]))
    return root


@contextmanager
def shuffled_scandir(rng: random.Random) -> Iterator[None]:
    """Directory listings in a random order: the walk order the filesystem happens to give."""
    real = os.scandir

    @contextmanager
    def scandir(path: Path) -> Iterator[list[os.DirEntry[str]]]:
        with real(path) as entries:
            listed = list(entries)
        rng.shuffle(listed)
        yield listed

    with mock.patch("os.scandir", scandir):
        yield


def dags_artifact(platform: Path) -> Artifact:
    return build_artifact(ArtifactKind.AIRFLOW_DAGS, "airflow/dags", platform / DAGS, platform)


def without_collisions(files: dict[str, bytes]) -> dict[str, bytes]:
    """Drop files whose path is also a folder of another file (``a.py`` vs ``a.py/b.py`` cannot both be)."""
    folders = {"/".join(rel.split("/")[:i]) for rel in files for i in range(1, rel.count("/") + 1)}
    return {rel: data for rel, data in files.items() if rel not in folders}


@SETTINGS
@given(files=TREES, seed=st.integers(0, 2**32 - 1))
def test_digest_ignores_write_order_walk_order_times_and_modes(
    files: dict[str, bytes], seed: int
) -> None:
    files = without_collisions(files)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        first = write_tree(Path(tmp) / "one", files, rng)
        second = write_tree(Path(tmp) / "two", files, rng)
        with shuffled_scandir(rng):
            shuffled = dags_artifact(second)
        assert dags_artifact(first) == shuffled  # digest, and the file list in the same order
        repo = ReleaseRepository(LocalObjectStore(Path(tmp) / "store"))
        assert release_id_for(repo.scan(first)) == release_id_for(repo.scan(second))


@SETTINGS
@given(files=TREES, data=st.data())
def test_changing_one_files_bytes_changes_the_digest(
    files: dict[str, bytes], data: st.DataObject
) -> None:
    files = without_collisions(files)
    victim = data.draw(st.sampled_from(sorted(files)))
    changed = {
        **files,
        victim: data.draw(st.binary(max_size=200).filter(lambda b: b != files[victim])),
    }
    with tempfile.TemporaryDirectory() as tmp:
        before = dags_artifact(write_tree(Path(tmp) / "before", files, random.Random(0))).digest
        after = dags_artifact(write_tree(Path(tmp) / "after", changed, random.Random(0))).digest
    assert before != after
