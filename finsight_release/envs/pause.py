"""A pipeline paused for a person: an environment whose release the checks could not judge.

When the post-deploy checks of a release stay inconclusive (a check errors, data is late) after the
allowed re-evaluations, the environment is paused: the promotion sensors neither promote it nor the
environment after it, until a person resumes it (``finsight-release resume ENV``). The pause is a
record in the store (``envs/<env>/pause.json``), written and cleared with an audit event by
``ReleaseSystem``; a person's own promote command is not stopped by it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from finsight_release.envs.environment import Environment
from finsight_release.store.base import ObjectStore


class PauseRecord(BaseModel):
    """The pause state of one environment's pipeline, as last set or cleared."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: Environment
    paused: bool
    release_id: str | None = None
    reason: str
    actor: str
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def _key(env: Environment) -> str:
    return f"envs/{env}/pause.json"


def read_pause(store: ObjectStore, env: Environment) -> PauseRecord | None:
    """``env``'s pause, or None when it is not paused."""
    obj = store.get(_key(env))
    record = PauseRecord.model_validate_json(obj.data) if obj else None
    return record if record is not None and record.paused else None


def write_pause(store: ObjectStore, record: PauseRecord) -> None:
    """Set or clear (``record.paused`` False) ``record.environment``'s pause."""
    store.put(_key(record.environment), record.model_dump_json().encode())


def pipeline_pause(store: ObjectStore, env: Environment) -> PauseRecord | None:
    """The pause that stops the pipeline of ``env``: its own, else the one of the environment that
    feeds it (a release the checks could not judge there must not travel on)."""
    own = read_pause(store, env)
    if own is not None or env.upstream is None:
        return own
    return read_pause(store, env.upstream)
