"""A target restricted, per environment, to the artifacts it owns there.

The Deployer hands each target every changed artifact of its kinds, whatever the environment. When
two targets can deploy the same kinds (the folder target and MWAA both take the Airflow DAG bundle,
requirements and plugins) and the environment's config picks one, each is wrapped in a
:class:`RoutedTarget` whose ``owns(env, name)`` says which artifacts are its own in that environment:
the other target never sees them, so an environment's DAGs land in exactly one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.base import Target

Owns = Callable[[Environment, str], bool]  # (environment, artifact name) -> this target deploys it


class RoutedTarget:
    """``inner``, given only the artifacts and retired names that ``owns`` assigns it per environment.

    Optional hooks the Deployer looks up (``mark_release``, ``after_live``) are ``inner``'s own;
    ``switch_back`` exists only when ``inner`` has one, and is filtered the same way.
    """

    def __init__(self, inner: Target, owns: Owns) -> None:
        self.inner = inner
        self.owns = owns
        self.name: str = inner.name
        self.kinds: frozenset[ArtifactKind] = inner.kinds

    def _mine(self, env: Environment, artifacts: Sequence[Artifact]) -> list[Artifact]:
        return [a for a in artifacts if self.owns(env, a.name)]

    def _retired(self, env: Environment, retired: Sequence[str]) -> list[str]:
        return [name for name in retired if self.owns(env, name)]

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        mine = self._mine(env, artifacts)
        if mine:
            self.inner.prepare(env, manifest, mine, repo)

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None:
        mine, gone = self._mine(env, artifacts), self._retired(env, retired)
        if mine or gone:
            self.inner.switch(env, manifest, mine, gone)

    def verify(
        self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]
    ) -> list[str]:
        mine = self._mine(env, artifacts)
        return self.inner.verify(env, manifest, mine) if mine else []

    def __getattr__(self, attribute: str) -> Any:
        hook = getattr(self.inner, attribute)  # AttributeError when inner has no such hook
        if attribute != "switch_back":
            return hook

        def switch_back(
            env: Environment,
            manifest: ReleaseManifest,
            artifacts: Sequence[Artifact],
            retired: Sequence[str],
            repo: ReleaseRepository,
        ) -> None:
            mine, gone = self._mine(env, artifacts), self._retired(env, retired)
            if mine or gone:
                hook(env, manifest, mine, gone, repo)

        return switch_back
