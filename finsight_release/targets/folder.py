"""A local published-folder target with an atomic switch, for any artifact kind.

Each artifact version is materialized once under ``versions/<name>/<digest>/`` and made live by
replacing the symlink ``current/<name>`` in one ``rename``: readers (Airflow's DAG processor, a Spark
submitter, a schema registry sync) see the old version or the new one, never a mix. Old versions stay,
so rollback is a symlink swap with no copy. The Airflow DAG folder of an environment is
``<root>/<env>/current/airflow/dags``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import Artifact, ArtifactKind, sha256_bytes
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository


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

    def stage(self, env: Environment, artifact: Artifact, repo: ReleaseRepository) -> Path:
        """Materialize a version directory once; a half-written one never gets its final name."""
        final = self.version_dir(env, artifact)
        if final.is_dir():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".staging-"))
        try:
            repo.materialize(artifact, tmp)
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

    def switch(self, env: Environment, artifact: Artifact) -> None:
        """Point ``current/<name>`` at the staged version in one atomic rename."""
        link = self.live_path(env, artifact.name)
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        os.symlink(os.path.relpath(self.version_dir(env, artifact), link.parent), tmp)
        os.replace(tmp, link)

    def apply(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Stage every artifact first, then switch each: nothing goes live before all are staged."""
        for artifact in artifacts:
            self.stage(env, artifact, repo)
        for artifact in artifacts:
            self.switch(env, artifact)

    def verify(self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]) -> list[str]:
        """Each artifact is live at its digest and its files hash to the manifest's digests."""
        problems = []
        for artifact in artifacts:
            live = self.live_digest(env, artifact.name)
            if live != artifact.digest:
                problems.append(f"{artifact.name} live at {str(live)[:12]}, expected {artifact.short_digest}")
                continue
            base = self.live_path(env, artifact.name)
            for f in artifact.files:
                path = base / f.path
                if not path.is_file() or sha256_bytes(path.read_bytes()) != f.digest:
                    problems.append(f"{artifact.name}: {f.path} missing or modified on the target")
                    break
        return problems
