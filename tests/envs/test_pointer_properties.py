"""Property: whatever sequence of builds, promotions and rollbacks runs, the environment invariants hold.

After every operation, succeeded or refused: each environment runs exactly one release (its pointer's,
which is also the one live on its target), no claim is left pending, the pointer history only grows
(append-only) with sequence numbers 1, 2, 3, ..., and a refused operation changes nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finsight_release.envs.environment import Environment
from finsight_release.envs.pointer import EnvPointer, PointerBoard
from finsight_release.envs.promotion import Deployer
from finsight_release.errors import FinsightError
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.manifest import release_id_for
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.local import LocalObjectStore
from finsight_release.targets.folder import FolderTarget
from tests.mini_platform import make_platform

ENVS = (Environment.DEV, Environment.STAGING, Environment.PROD)
TREES = 3
State = dict[Environment, tuple[EnvPointer, list[EnvPointer]]]
Operation = tuple[Any, ...]

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("build"), st.integers(0, TREES - 1)),
        st.tuples(
            st.just("promote"), st.sampled_from(ENVS), st.integers(0, TREES - 1), st.booleans()
        ),
        st.tuples(st.just("rollback"), st.sampled_from(ENVS)),
    ),
    max_size=10,
)


class ListAudit:
    """Audit events in memory (the audit log itself is tested in tests/audit)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def append(self, **fields: Any) -> dict[str, Any]:
        self.events.append(fields)
        return fields


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, str]]:
    """Three platform trees differing in one DAG, with the release id each builds to."""
    root = tmp_path_factory.mktemp("trees")
    out = []
    for i in range(TREES):
        platform = make_platform(
            root / f"p{i}", {"release_assets/airflow/dags/ingest_core.py": f"# v{i}\n"}
        )
        artifacts = ReleaseRepository(LocalObjectStore(root / "scan")).scan(platform)
        out.append((platform, release_id_for(artifacts)))
    return out


class World:
    """A fresh store, DAG folder target and deployer for one example."""

    def __init__(self, tmp: Path) -> None:
        self.repo = ReleaseRepository(LocalObjectStore(tmp / "store"))
        self.folder = FolderTarget(tmp / "targets", frozenset({ArtifactKind.AIRFLOW_DAGS}))
        self.deployer = Deployer(
            repo=self.repo, targets=[self.folder], audit=ListAudit(), actor="prop"
        )
        self.board = PointerBoard(self.repo.store)

    def state(self) -> State:
        return {env: (self.board.read(env)[0], self.board.history(env)) for env in ENVS}

    def run(self, op: Operation, trees: list[tuple[Path, str]]) -> bool:
        """Run one operation; False when it was refused (a one-line FinsightError)."""
        try:
            if op[0] == "build":
                self.repo.build(trees[op[1]][0], "prop")
            elif op[0] == "promote":
                _, env, index, override = op
                self.deployer.promote(
                    env, trees[index][1], override_reason="property test" if override else None
                )
                # A deploy leaves the release pending; here its post-deploy checks always pass.
                self.deployer.mark_health(env, trees[index][1], True, "checks passed")
            else:
                self.deployer.rollback(op[1])
        except FinsightError as exc:
            assert "\n" not in str(exc)
            return False
        return True


def key(entry: EnvPointer) -> tuple[int, str | None, str | None]:
    return entry.seq, entry.release_id, entry.operation_id


def check_invariants(world: World, before: State, after: State, op: Operation, ok: bool) -> None:
    built = set(world.repo.list_ids())
    for env in ENVS:
        (old_pointer, old_history), (pointer, history) = before[env], after[env]
        assert pointer.pending is None, f"{env} left claimed after {op}"
        assert [h.seq for h in history] == list(range(1, len(history) + 1)), (
            f"{env} sequence numbers"
        )
        assert pointer.seq == len(history)
        assert pointer.release_id == (history[-1].release_id if history else None)
        assert [key(h) for h in history[: len(old_history)]] == [key(h) for h in old_history], (
            "history rewritten"
        )
        assert pointer.release_id is None or pointer.release_id in built
        live = world.folder.live_digest(env, "airflow/dags")
        if pointer.release_id is None:
            assert live is None
        else:
            dags = world.repo.get(pointer.release_id).artifact("airflow/dags")
            assert dags and live == dags.digest, (
                f"{env}: target runs another release than its pointer"
            )
        moved = op[0] != "build" and op[1] is env and ok
        if not moved:
            assert key(pointer) == key(old_pointer) and len(history) == len(old_history), (
                f"{env} moved by {op}"
            )
        elif op[0] == "rollback":
            assert (
                pointer.release_id == old_pointer.previous_release_id
                and len(history) == len(old_history) + 1
            )


@settings(
    max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(operations=OPERATIONS)
def test_any_sequence_of_operations_keeps_the_invariants(
    trees: list[tuple[Path, str]], operations: list[Operation]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp))
        for op in operations:
            before = world.state()
            ok = world.run(op, trees)
            after = world.state()
            check_invariants(world, before, after, op, ok)
            if op[0] == "promote" and ok:
                assert after[op[1]][0].release_id == trees[op[2]][1]


def iter_examples() -> Iterator[list[Operation]]:
    """A hand-written sequence that reaches every path: refusals, promotion order, no-ops, rollbacks."""
    dev, staging, prod = ENVS
    yield [
        ("promote", dev, 0, False),  # refused: not built
        ("build", 0),
        ("build", 1),
        ("rollback", dev),  # refused: nothing to roll back to
        ("promote", dev, 0, False),
        ("promote", prod, 0, False),  # refused: not live in staging
        ("promote", staging, 0, False),
        ("promote", prod, 0, False),
        ("promote", dev, 1, False),
        ("promote", dev, 1, False),  # no-op
        ("rollback", dev),
        ("promote", prod, 1, True),  # order gate overridden, audited
        ("rollback", prod),
    ]


@pytest.mark.parametrize("operations", list(iter_examples()))
def test_a_known_sequence_keeps_the_invariants(
    trees: list[tuple[Path, str]], operations: list[Operation]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp))
        outcomes = []
        for op in operations:
            before = world.state()
            ok = world.run(op, trees)
            check_invariants(world, before, world.state(), op, ok)
            outcomes.append(ok)
    assert outcomes == [
        False,
        True,
        True,
        False,
        True,
        False,
        True,
        True,
        True,
        True,
        True,
        True,
        True,
    ]
