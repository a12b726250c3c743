"""Validation verdicts kept with the release, and the promotion gate that requires a passing one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from finsight_release.envs.environment import Environment
from finsight_release.release.changeset import ChangeSet
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.store.base import ObjectStore
from finsight_release.validate.runner import ValidationReport


class ValidationVerdict(BaseModel):
    """The outcome of validating a release for an environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    release_id: str
    environment: Environment
    passed: bool
    counts: dict[str, int]
    blocking: list[str]
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def verdict_key(release_id: str, env: Environment) -> str:
    return f"releases/{release_id}/validation/{env}.json"


class ValidationOutcome(NamedTuple):
    """What validating a tree for an environment produced: the report, the recorded verdict, and the
    change set it was validated against (None when everything was validated)."""

    report: ValidationReport
    verdict: ValidationVerdict
    change_set: ChangeSet | None


def record_verdict(
    store: ObjectStore, release_id: str, env: Environment, report: ValidationReport
) -> ValidationVerdict:
    """Store the verdict of ``report`` for ``release_id`` in ``env`` (the latest one counts)."""
    blocking = [str(f) for f in report.findings if f.severity.is_blocking][:50]
    verdict = ValidationVerdict(
        release_id=release_id,
        environment=env,
        passed=report.passed,
        counts=report.counts,
        blocking=blocking,
    )
    store.put(verdict_key(release_id, env), verdict.model_dump_json().encode())
    return verdict


def read_verdict(store: ObjectStore, release_id: str, env: Environment) -> ValidationVerdict | None:
    obj = store.get(verdict_key(release_id, env))
    return ValidationVerdict.model_validate_json(obj.data) if obj else None


class ValidationGate:
    """Refuses promotion to the guarded environments without a passing validation of the release."""

    name = "validation"

    def __init__(self, store: ObjectStore, environments: frozenset[Environment]) -> None:
        self.store = store
        self.environments = environments

    def check(
        self, env: Environment, manifest: ReleaseManifest, change_set: ChangeSet
    ) -> str | None:
        if env not in self.environments:
            return None
        verdict = read_verdict(self.store, manifest.release_id, env)
        if verdict is None:
            return f"{manifest.release_id} was never validated for {env} (run `finsight-release validate --env {env}`)"
        if not verdict.passed:
            first = verdict.blocking[0] if verdict.blocking else "errors"
            return f"validation for {env} failed: {first}"
        return None
