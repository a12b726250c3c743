"""A local published-folder target with an atomic switch, for any artifact kind.

Each artifact version is materialized once under ``versions/<name>/<digest>/`` and made live by
replacing the symlink ``current/<name>`` in one ``rename``: readers (Airflow's DAG processor, a Spark
submitter, a schema registry sync) see the old version or the new one, never a mix. Old versions stay,
so rollback is a symlink swap with no copy. The Airflow DAG folder of an environment is
``<root>/<env>/current/airflow/dags``.

Everything published is readable by other users whatever the umask (directories 0755, files 0644):
the Airflow reading the dags folder usually runs as another user than the deployer.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from finsight_release.envs.environment import Environment
from finsight_release.envs.faults import fault_point
from finsight_release.errors import TargetError
from finsight_release.release.artifact import Artifact, ArtifactKind, sha256_bytes
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository

DIR_MODE = 0o755
FILE_MODE = 0o644
# Written in ``<root>/<env>/current/`` at every switch: the release the published folders belong to.
# The Airflow plugin finds it two levels above the dags folder (``current/airflow/dags``) and writes
# it into every task log, so a task run started after a deploy names the release it ran.
RELEASE_MARKER = "finsight_release.json"


def release_marker(
    env: Environment, manifest: ReleaseManifest, ids: dict[str, str]
) -> dict[str, object]:
    """The body of ``finsight_release.json``: the release, the environment, the artifact digests and
    the operation's correlation ``ids``."""
    return {
        **ids,
        "release_id": manifest.release_id,
        "environment": str(env),
        "digests": {a.name: a.digest for a in manifest.artifacts},
    }


def make_readable(root: Path) -> None:
    """Give ``root`` and everything under it the published modes (0755 directories, 0644 files)."""
    os.chmod(root, DIR_MODE)
    for parent, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(parent, name), DIR_MODE)
        for name in files:
            os.chmod(os.path.join(parent, name), FILE_MODE)


class FolderTarget:
    """Publishes artifacts of ``kinds`` under ``root/<env>/`` with an atomic symlink switch."""

    def __init__(self, root: Path, kinds: frozenset[ArtifactKind], name: str = "folder") -> None:
        self.root = Path(root)
        self.kinds = kinds
        self.name = name

    def version_dir(self, env: Environment, artifact: Artifact) -> Path:
        return self.root / str(env) / "versions" / artifact.name / artifact.digest

    def live_path(self, env: Environment, name: str) -> Path:
        """The stable path consumers read, e.g. the Airflow dags folder for ``airflow/dags``."""
        return self.root / str(env) / "current" / name

    def live_digest(self, env: Environment, name: str) -> str | None:
        """Digest of the version ``current/<name>`` points at, or None."""
        link = self.live_path(env, name)
        return Path(os.readlink(link)).name if link.is_symlink() else None

    def _make_dirs(self, path: Path) -> None:
        """Create ``path`` and its missing parents with the published mode (not the umask's)."""
        missing = []
        while not path.is_dir():
            missing.append(path)
            path = path.parent
        for directory in reversed(missing):
            directory.mkdir(exist_ok=True)
            os.chmod(directory, DIR_MODE)

    def stage(self, env: Environment, artifact: Artifact, repo: ReleaseRepository) -> Path:
        """Materialize a version directory once; a half-written one never gets its final name."""
        final = self.version_dir(env, artifact)
        if final.is_dir():
            return final
        self._make_dirs(final.parent)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".staging-"))
        try:
            repo.materialize(artifact, tmp)
            make_readable(tmp)  # mkdtemp makes 0700; files follow the umask
            fault_point("folder.staged", artifact.name)
            os.rename(tmp, final)
        except OSError:
            if final.is_dir():  # a concurrent writer staged the same digest first
                shutil.rmtree(tmp, ignore_errors=True)
                return final
            raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return final

    def link(self, env: Environment, artifact: Artifact) -> None:
        """Point ``current/<name>`` at the staged version in one atomic rename."""
        version = self.version_dir(env, artifact)
        if not version.is_dir():
            raise TargetError(
                f"{self.name}: {artifact.name} {artifact.short_digest} is not staged in {env}"
            )
        link = self.live_path(env, artifact.name)
        self._make_dirs(link.parent)
        for stale in link.parent.glob(f".{link.name}.*.tmp"):  # left by a process killed mid-switch
            stale.unlink(missing_ok=True)
        tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
        os.symlink(os.path.relpath(version, link.parent), tmp)
        fault_point("folder.link", artifact.name)
        os.replace(tmp, link)

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Stage every artifact's version directory (nothing a reader sees changes)."""
        for artifact in artifacts:
            self.stage(env, artifact, repo)

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None:
        """Make each staged artifact live (one rename each); unpublish the ``retired`` names."""
        for artifact in artifacts:
            self.link(env, artifact)
        for name in retired:
            self.live_path(env, name).unlink(missing_ok=True)

    def mark_release(
        self, env: Environment, manifest: ReleaseManifest, ids: dict[str, str]
    ) -> None:
        """Write ``current/finsight_release.json`` (release id, digests, correlation ``ids``) atomically."""
        current = self.root / str(env) / "current"
        self._make_dirs(current)
        marker = current / RELEASE_MARKER
        tmp = marker.with_name(f".{RELEASE_MARKER}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(release_marker(env, manifest, ids), sort_keys=True))
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, marker)

    def apply(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Prepare then switch: nothing goes live before every artifact is staged."""
        self.prepare(env, manifest, artifacts, repo)
        self.switch(env, manifest, artifacts)

    def verify(
        self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]
    ) -> list[str]:
        """Each artifact is live at its digest and its files hash to the manifest's digests."""
        problems = []
        for artifact in artifacts:
            live = self.live_digest(env, artifact.name)
            if live != artifact.digest:
                problems.append(
                    f"{artifact.name} live at {str(live)[:12]}, expected {artifact.short_digest}"
                )
                continue
            base = self.live_path(env, artifact.name)
            for f in artifact.files:
                path = base / f.path
                if not path.is_file() or sha256_bytes(path.read_bytes()) != f.digest:
                    problems.append(f"{artifact.name}: {f.path} missing or modified on the target")
                    break
        return problems
