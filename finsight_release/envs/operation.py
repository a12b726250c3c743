"""Promotion and rollback operations: their states and the durable record of each."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from finsight_release.envs.environment import Environment
from finsight_release.release.changeset import ChangeSet
from finsight_release.store.base import ObjectStore


class OperationState(StrEnum):
    """planned -> applying -> verifying -> live, or -> failed -> rolled_back.

    Every state is persisted before its work starts, so a crash at any step resumes from there.
    """

    PLANNED = "planned"
    APPLYING = "applying"
    VERIFYING = "verifying"
    LIVE = "live"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"

    @property
    def is_terminal(self) -> bool:
        return self in {OperationState.LIVE, OperationState.ROLLED_BACK}


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

    def advance(self, state: OperationState, detail: str | None = None, error: str | None = None) -> OperationRecord:
        """A copy moved to ``state``, with the transition recorded."""
        return self.model_copy(
            update={
                "state": state,
                "error": error or self.error,
                "transitions": (*self.transitions, StateChange(state=state, detail=detail)),
            }
        )

    @property
    def seconds(self) -> float:
        """Wall time from the first to the last transition."""
        if len(self.transitions) < 2:
            return 0.0
        return (self.transitions[-1].at - self.transitions[0].at).total_seconds()


class HealthRecord(BaseModel):
    """Whether a release is healthy in an environment, per its latest verification or check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: Environment
    release_id: str
    healthy: bool
    reason: str
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class OperationLedger:
    """Operation and health records in the store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def save(self, record: OperationRecord) -> OperationRecord:
        self.store.put(f"envs/{record.environment}/operations/{record.id}.json", record.model_dump_json().encode())
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
