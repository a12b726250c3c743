"""The interface of a deploy target: where artifacts of some kinds land in an environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository


class Target(Protocol):
    """Deploys artifacts of ``kinds`` to one environment in two phases, each idempotent.

    ``prepare`` makes the new version ready without changing what consumers see (stage a folder,
    build a warehouse schema); it may be slow and is safe to repeat or abandon. ``switch`` makes a
    prepared version live in one short atomic step and retires the named artifacts the release no
    longer has; repeating it is harmless. The deployer prepares every target before it switches any,
    so an environment runs one release's DAGs against another's models only during the switches.
    ``verify`` returns problems (empty list: healthy) after a switch.
    """

    name: str
    kinds: frozenset[ArtifactKind]

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None: ...

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None: ...

    def verify(
        self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]
    ) -> list[str]: ...
