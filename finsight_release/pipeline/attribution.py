"""Attributing a failing check to the release that caused it, by lineage.

A blocking check failing on an asset downstream of what an environment's live release changed is
that release's doing: the path from the changed deployment asset (``prod/dbt_models``) down to the
failing asset (``fct_payments``) is the evidence, and the environment goes back to the release it ran
before. A failure on an asset no live change reaches is not attributed: it alerts, nothing rolls back.
The lineage graph comes from the caller (the Dagster layer's asset graph), as a parent map.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from finsight_release.envs.environment import Environment
from finsight_release.envs.pointer import PointerBoard
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.changeset import compute_change_set
from finsight_release.release.repository import ReleaseRepository


@dataclass(frozen=True)
class LiveChange:
    """What an environment's live release changed against the release it replaced."""

    env: Environment
    release_id: str
    previous_release: str
    kinds: frozenset[ArtifactKind]


@dataclass(frozen=True)
class Attribution:
    """A failing asset traced to a live change: ``path`` runs from the changed asset to the failing one."""

    change: LiveChange
    path: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.change.release_id} in {self.change.env}: {' -> '.join(self.path)}"


def live_change(
    repo: ReleaseRepository, board: PointerBoard, env: Environment
) -> LiveChange | None:
    """What ``env``'s live release changed against the one it replaced (None: nothing to go back to)."""
    pointer, _ = board.read(env)
    history = [p.release_id for p in board.history(env) if p.release_id]
    previous = next((r for r in reversed(history) if r != pointer.release_id), None)
    if pointer.release_id is None or previous is None:
        return None
    before, after = repo.get(previous), repo.get(pointer.release_id)
    change_set = compute_change_set(previous, before.artifacts, after.artifacts)
    kinds = frozenset(c.kind for c in change_set.changes)
    return LiveChange(env, pointer.release_id, previous, kinds)


ENVIRONMENT_NAMES = frozenset(str(env) for env in Environment)


def deployment_env(asset: str) -> Environment | None:
    """The environment of a deployment asset (``dev/dbt_models`` -> dev); None for other assets."""
    head, _, rest = asset.partition("/")
    return Environment(head) if rest and head in ENVIRONMENT_NAMES else None


def in_partition(parent: str, node: str, env: Environment) -> str:
    """The parent ``node`` has in ``env``'s partition: platform assets (tables, models) hang off
    ``prod/<kind>`` in the graph, and in ``env``'s partition they are built from ``<env>/<kind>``."""
    if deployment_env(node) is None and deployment_env(parent) is Environment.PROD:
        return f"{env}/{parent.partition('/')[2]}"
    return parent


def attribute(
    failing: str,
    parents: Mapping[str, Collection[str]],
    changed: Mapping[str, LiveChange],
    partition: str | None = None,
) -> Attribution | None:
    """The nearest changed asset upstream of ``failing`` (itself included), with the lineage path.

    ``parents`` maps an asset to its parents; ``changed`` maps each changed deployment asset to the
    live change behind it. ``partition``: the partition the failing check judged; an environment
    (the platform assets are partitioned by environment) scopes the search to that environment's
    changes, reached through its own deployment assets.
    """
    # Only environment partitions scope the search (release/<kind> checks are partitioned by release).
    env = Environment(partition) if partition in ENVIRONMENT_NAMES else None
    if env is not None:
        changed = {asset: change for asset, change in changed.items() if change.env is env}
    came_from: dict[str, str | None] = {failing: None}
    queue = deque([failing])
    while queue:
        node = queue.popleft()
        if node in changed:
            path = [node]
            while (child := came_from[path[-1]]) is not None:
                path.append(child)
            return Attribution(changed[node], tuple(path))
        for parent in sorted(parents.get(node, ())):
            if env is not None:
                parent = in_partition(parent, node, env)
            if parent not in came_from:
                came_from[parent] = node
                queue.append(parent)
    return None
