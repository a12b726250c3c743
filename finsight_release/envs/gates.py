"""Gates: the preconditions a promotion must meet, each answering with a refusal reason or None.

Two kinds. The promotion order (a release goes to an environment only after it is live and healthy in
the one before: dev -> staging -> prod) reads only pointers and health records, so it is checked
before the environment is claimed; an emergency override skips it, audited. The pluggable gates
(validation verdict, detection) may look at targets (the warehouse, drift scans), so they run after
the claim; a gate that crashes refuses, since it could not vouch for the release.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from finsight_release.envs.environment import Environment
from finsight_release.envs.operation import OperationLedger
from finsight_release.envs.pointer import PointerBoard
from finsight_release.one_line import exception_line
from finsight_release.release.changeset import ChangeSet
from finsight_release.release.manifest import ReleaseManifest


class Gate(Protocol):
    """A precondition of promotion; returns the refusal reason, or None to let it pass."""

    name: str

    def check(
        self, env: Environment, manifest: ReleaseManifest, change_set: ChangeSet
    ) -> str | None: ...


def order_refusal(
    board: PointerBoard, ledger: OperationLedger, upstream: Environment, release_id: str
) -> str | None:
    """Why ``release_id`` may not leave ``upstream`` yet (not live there, or not healthy), or None."""
    pointer, _ = board.read(upstream)
    if pointer.release_id != release_id:
        return f"{release_id} is not live in {upstream} (it runs {pointer.release_id})"
    health = ledger.health(upstream, release_id)
    if health is None or not health.healthy:
        why = health.reason if health else "no verification recorded"
        return f"{release_id} is not healthy in {upstream}: {why}"
    return None


def first_refusal(
    gates: Sequence[Gate], env: Environment, manifest: ReleaseManifest, change_set: ChangeSet
) -> str | None:
    """The first gate's refusal, or None; a gate that crashes refuses (it could not vouch)."""
    for gate in gates:
        try:
            refusal = gate.check(env, manifest, change_set)
        except Exception as exc:  # noqa: BLE001 - a gate that cannot run must not let a release through
            refusal = f"could not run: {exception_line(exc)}"
        if refusal:
            return f"gate {gate.name}: {refusal}"
    return None
