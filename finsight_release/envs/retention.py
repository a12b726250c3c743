"""Retention: which releases' warehouse relations are kept, and which rollbacks that allows.

Each environment keeps the physical relations of the last N distinct releases it ran (its current one
included; ``FINSIGHT_RETAIN_RELEASES``, default 5). A rollback to a release outside that window is
refused before anything is claimed: its relations may be gone, and bringing them back is a rebuild,
which is what a promotion is for. The janitor keeps the union over every environment: each one's
window, what its pointer names and what an in-flight operation is moving it to, so it never drops what
any environment points at.
"""

from __future__ import annotations

from collections.abc import Sequence

from finsight_release.envs.environment import Environment
from finsight_release.envs.operation import OperationLedger
from finsight_release.envs.pointer import EnvPointer, PointerBoard

DEFAULT_RETAIN_RELEASES = 5


def retained_releases(history: Sequence[EnvPointer], keep: int) -> list[str]:
    """The last ``keep`` distinct releases of ``history`` (oldest first), newest first.

    Examples:
        >>> [p.release_id for p in history]
        ['r-1', 'r-2', 'r-1', 'r-3']
        >>> retained_releases(history, 2)
        ['r-3', 'r-1']
    """
    window: list[str] = []
    for entry in reversed(history):
        if entry.release_id and entry.release_id not in window:
            window.append(entry.release_id)
        if len(window) == keep:
            break
    return window


def rollback_refusal(
    env: Environment, history: Sequence[EnvPointer], keep: int, target: str
) -> str | None:
    """Why a rollback of ``env`` to ``target`` falls outside the retention window, or None."""
    window = retained_releases(history, keep)
    if target in window:
        return None
    return (
        f"{target} is outside {env}'s retention window: the warehouse keeps the relations of the last "
        f"{keep} releases {env} ran ({', '.join(window)}); promote {target} instead to rebuild what "
        "it needs"
    )


def protected_releases(board: PointerBoard, ledger: OperationLedger, keep: int) -> dict[str, str]:
    """Every release the janitor must keep, with why: per environment its window, its current release
    and the target of an operation in flight."""
    protected: dict[str, str] = {}
    for env in Environment:
        pointer, _ = board.read(env)
        if pointer.pending:
            record = ledger.get(env, pointer.pending)
            if record is not None:
                protected.setdefault(record.to_release, f"{env}: in-flight {record.kind}")
        if pointer.release_id:
            protected.setdefault(pointer.release_id, f"{env}: current")
        for release_id in retained_releases(board.history(env), keep):
            protected.setdefault(release_id, f"{env}: last {keep}")
    return protected
