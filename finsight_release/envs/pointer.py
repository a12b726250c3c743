"""Environment pointers: which release an environment runs, moved only by compare-and-swap.

Key layout in the store::

    envs/<env>/pointer.json               the current pointer (the truth)
    envs/<env>/history/<seq, 8 digits>.json  one entry per pointer move, written create-only

The pointer carries its own sequence number. History entries are derived from pointer moves and
written with create-only semantics after the swap; a crash between the two is repaired on the next
read, so history is append-only and never disagrees with the pointer for long.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from finsight_release.envs.environment import Environment
from finsight_release.errors import StaleCasTokenError
from finsight_release.store.base import ObjectStore


class EnvPointer(BaseModel):
    """What an environment runs: release, sequence number, who moved it, and any in-flight operation.

    ``pending`` holds the id of a promotion or rollback that has claimed the environment; while it is
    set, no other operation may start (that claim is the compare-and-swap that picks one winner).
    ``owner`` names the process running it (``host:pid:start``); a takeover of a crashed operation
    swaps in its own process by the same compare-and-swap, so two takeovers never both win.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: Environment
    release_id: str | None
    seq: int
    previous_release_id: str | None = None
    operation: str = "init"
    operation_id: str | None = None
    actor: str = "system"
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    pending: str | None = None
    owner: str | None = None


def pointer_key(env: Environment) -> str:
    return f"envs/{env}/pointer.json"


def history_key(env: Environment, seq: int) -> str:
    return f"envs/{env}/history/{seq:08d}.json"


class PointerBoard:
    """Reads and swaps environment pointers in a store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def read(self, env: Environment) -> tuple[EnvPointer, str | None]:
        """The current pointer and its CAS token (None token: never written)."""
        obj = self.store.get(pointer_key(env))
        if obj is None:
            return EnvPointer(environment=env, release_id=None, seq=0), None
        return EnvPointer.model_validate_json(obj.data), obj.etag

    def swap(self, current: EnvPointer, token: str | None, new: EnvPointer) -> str:
        """Replace ``current`` by ``new`` if nobody moved it since it was read; returns the new token.

        Raises StaleCasTokenError naming the environment when another writer won. A move that changes
        the release appends a history entry.
        """
        try:
            new_token = self.store.put_if_match(
                pointer_key(new.environment), new.model_dump_json().encode(), token
            )
        except StaleCasTokenError as exc:
            latest, _ = self.read(new.environment)
            holder = f"; in flight: {latest.pending}" if latest.pending else ""
            raise StaleCasTokenError(
                f"{new.environment} pointer changed since it was read (now seq {latest.seq}, release "
                f"{latest.release_id}{holder}); nothing was changed, re-read and retry"
            ) from exc
        if new.seq != current.seq:
            settled = new.model_copy(update={"pending": None, "owner": None})
            self.store.put_if_absent(
                history_key(new.environment, new.seq), settled.model_dump_json().encode()
            )
        return new_token

    def history(self, env: Environment) -> list[EnvPointer]:
        """Every pointer move of ``env``, oldest first (repairs a history entry lost to a crash)."""
        entries = [
            EnvPointer.model_validate_json(obj.data)
            for key in self.store.list(f"envs/{env}/history/")
            if (obj := self.store.get(key)) is not None
        ]
        pointer, _ = self.read(env)
        if pointer.seq and (not entries or entries[-1].seq < pointer.seq):
            settled = pointer.model_copy(update={"pending": None, "owner": None})
            self.store.put_if_absent(
                history_key(env, pointer.seq), settled.model_dump_json().encode()
            )
            entries.append(settled)
        return entries
