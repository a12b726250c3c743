"""The interface of a deploy target: where artifacts of some kinds land in an environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository


class Target(Protocol):
    """Applies artifacts of ``kinds`` to one environment; must be idempotent.

    ``apply`` leaves the target on the new version or the old one, never half-switched. ``verify``
    returns problems (empty list: healthy) after an apply.
    """

    name: str
    kinds: frozenset[ArtifactKind]

    def apply(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None: ...

    def verify(self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]) -> list[str]: ...
