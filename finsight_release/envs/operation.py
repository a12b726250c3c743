"""Promotion and rollback operations: their states and the durable record of each."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from finsight_release.envs.environment import Environment
from finsight_release.release.changeset import ChangeSet
from finsight_release.store.base import ObjectStore


class OperationState(StrEnum):
    """planned -> preparing -> switching -> verifying -> live; any failure -> failed -> rolled_back;
    a gate's refusal: planned -> refused.

    Every state is persisted before its work starts, so a crash at any step is resumed or undone from
    there. ``preparing`` changes nothing a consumer sees (each target stages its new version);
    ``switching`` makes the targets live one after the other, each switch recorded in ``switched``.
    """

    PLANNED = "planned"
    PREPARING = "preparing"
    SWITCHING = "switching"
    VERIFYING = "verifying"
    LIVE = "live"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    REFUSED = "refused"

    @property
    def is_terminal(self) -> bool:
        return self in {OperationState.LIVE, OperationState.ROLLED_BACK, OperationState.REFUSED}


class StateChange(BaseModel):
    """One transition of an operation, with when it happened and an optional detail."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: OperationState
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    detail: str | None = None


class OperationRecord(BaseModel):
    """A promotion or rollback of one environment from one release to another."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: str  # "promote" | "rollback"
    environment: Environment
    from_release: str | None
    to_release: str
    actor: str
    state: OperationState
    change_set: ChangeSet
    override_reason: str | None = None
    error: str | None = None
    transitions: tuple[StateChange, ...] = ()
    # The process running the operation ("host:pid:start ticks"); a takeover checks it is gone.
    owner: str | None = None
    # Targets already switched to ``to_release``, in switch order.
    switched: tuple[str, ...] = ()

    def advance(
        self, state: OperationState, detail: str | None = None, error: str | None = None
    ) -> OperationRecord:
        """A copy moved to ``state``, with the transition recorded."""
        return self.model_copy(
            update={
                "state": state,
                "error": error or self.error,
                "transitions": (*self.transitions, StateChange(state=state, detail=detail)),
            }
        )

    def with_switched(self, target: str) -> OperationRecord:
        """A copy recording that ``target`` now serves ``to_release``."""
        return self.model_copy(update={"switched": (*self.switched, target)})

    @property
    def live_release(self) -> str | None:
        """The release the environment runs after this operation: ``to_release`` once live; otherwise
        (it failed and was restored, or a takeover undid it) ``from_release``."""
        return self.to_release if self.state is OperationState.LIVE else self.from_release

    @property
    def reached_switching(self) -> bool:
        """True once any target may have been switched (the record ever entered ``switching``)."""
        return any(t.state is OperationState.SWITCHING for t in self.transitions)

    @property
    def seconds(self) -> float:
        """Wall time from the first to the last transition."""
        if len(self.transitions) < 2:
            return 0.0
        return (self.transitions[-1].at - self.transitions[0].at).total_seconds()


def _start_ticks(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), or None when unknown.

    With the pid it names a process uniquely, so a recycled pid is not mistaken for the owner.
    Zombies count as gone.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return None if fields[0] in {"Z", "X"} else fields[19]


def current_owner() -> str:
    """This process as an operation owner: ``host:pid:start ticks``."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '-'}"


def owner_status(owner: str | None) -> Literal["alive", "gone", "unknown"]:
    """Whether the process that owns an operation still runs: ``unknown`` when it ran on another host."""
    if not owner:
        return "gone"
    host, _, rest = owner.partition(":")
    pid_text, _, ticks = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return "unknown"
    pid = int(pid_text)
    if not os.path.exists("/proc/self/stat"):  # no procfs: signal 0 tells whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "gone"
        except PermissionError:
            return "alive"
        return "alive"
    now = _start_ticks(pid)
    return "alive" if now is not None and (ticks in {"", "-"} or now == ticks) else "gone"


class HealthRecord(BaseModel):
    """Whether a release is healthy in an environment, per the latest evidence on it.

    ``pending``: no conclusive evidence yet (just deployed, or its checks were inconclusive
    ``attempts`` times); a pending release is not healthy, but it was not found unhealthy either.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: Environment
    release_id: str
    healthy: bool
    reason: str
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    pending: bool = False
    attempts: int = 0

    @property
    def found_unhealthy(self) -> bool:
        """A conclusive verdict against the release (not merely awaiting evidence)."""
        return not self.healthy and not self.pending


class OperationLedger:
    """Operation and health records in the store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def save(self, record: OperationRecord) -> OperationRecord:
        self.store.put(
            f"envs/{record.environment}/operations/{record.id}.json",
            record.model_dump_json().encode(),
        )
        return record

    def get(self, env: Environment, op_id: str) -> OperationRecord | None:
        obj = self.store.get(f"envs/{env}/operations/{op_id}.json")
        return OperationRecord.model_validate_json(obj.data) if obj else None

    def set_health(self, record: HealthRecord) -> None:
        key = f"envs/{record.environment}/health/{record.release_id}.json"
        self.store.put(key, record.model_dump_json().encode())

    def health(self, env: Environment, release_id: str) -> HealthRecord | None:
        obj = self.store.get(f"envs/{env}/health/{release_id}.json")
        return HealthRecord.model_validate_json(obj.data) if obj else None
