"""Promotion and rollback: the state machine that moves an environment between releases.

The environment is claimed first, by a compare-and-swap that sets ``pending`` on its pointer: of two
concurrent operations exactly one claims it, the other is refused before touching anything. The
claim holder applies the changed artifacts to their targets, verifies them, writes the audit event
and only then swaps the pointer to the new release. A failure restores the previous release on the
targets and releases the claim. Re-running the same command after a crash resumes the operation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from finsight_release.envs.environment import Environment
from finsight_release.envs.operation import (
    HealthRecord,
    OperationLedger,
    OperationRecord,
    OperationState,
)
from finsight_release.envs.pointer import EnvPointer, PointerBoard
from finsight_release.errors import (
    FinsightError,
    PromotionFailedError,
    PromotionRefusedError,
    StaleCasTokenError,
)
from finsight_release.observe.logging import get_logger, log_context
from finsight_release.observe.metrics import MetricSink
from finsight_release.release.artifact import Artifact
from finsight_release.release.changeset import ChangeSet, compute_change_set
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.base import Target


class AuditSink(Protocol):
    """Where evidence goes: the audit log's ``append``."""

    def append(self, **fields: Any) -> Any: ...


class Gate(Protocol):
    """A precondition of promotion; returns the refusal reason, or None to let it pass."""

    name: str

    def check(self, env: Environment, manifest: ReleaseManifest, change_set: ChangeSet) -> str | None: ...


@dataclass
class Deployer:
    """Runs promotions and rollbacks against a store, targets and an audit sink."""

    repo: ReleaseRepository
    targets: Sequence[Target]
    audit: AuditSink
    actor: str
    metrics: MetricSink = field(default_factory=MetricSink)
    gates: Sequence[Gate] = ()

    def __post_init__(self) -> None:
        self.board = PointerBoard(self.repo.store)
        self.ledger = OperationLedger(self.repo.store)
        self.log = get_logger("finsight_release.deploy")

    # -- public operations -------------------------------------------------------------------

    def promote(self, env: Environment, release_id: str, override_reason: str | None = None) -> OperationRecord:
        """Move ``env`` to ``release_id``; a no-op when it already runs it.

        Refused (nothing changed, audit event written) for an unknown release, an in-flight operation,
        a lost compare-and-swap, or a failed gate; the promotion-order gate is skipped only with an
        ``override_reason``, which is itself audited.
        """
        manifest = self._manifest_or_refuse(env, release_id, "promote")
        pointer, token = self.board.read(env)
        if pointer.pending:
            return self._resume_or_refuse(env, pointer, token, release_id, "promote")
        if pointer.release_id == release_id:
            return self._noop(env, pointer)
        base = self.repo.get(pointer.release_id) if pointer.release_id else None
        change_set = compute_change_set(pointer.release_id, base.artifacts if base else (), manifest.artifacts)
        self._check_gates(env, manifest, change_set, override_reason)
        return self._start("promote", env, pointer, token, manifest, change_set, override_reason)

    def rollback(self, env: Environment, to_release: str | None = None) -> OperationRecord:
        """Move ``env`` back to the release it ran before (or ``to_release``, one it ran earlier).

        Nothing is rebuilt: the earlier release's artifacts are re-applied from the store.
        """
        pointer, token = self.board.read(env)
        if pointer.pending:
            return self._resume_or_refuse(env, pointer, token, to_release, "rollback")
        target = to_release or pointer.previous_release_id
        ran_before = {p.release_id for p in self.board.history(env)}
        if target is None or target not in ran_before or target == pointer.release_id:
            reason = (
                f"{env} has no earlier release to roll back to"
                if target is None
                else f"{env} never ran release {target!r}; roll back only to a release it ran before"
                if target not in ran_before
                else f"{env} already runs {target}"
            )
            self._refuse(env, target, "rollback", reason)
        manifest = self._manifest_or_refuse(env, str(target), "rollback")
        current = self.repo.get(pointer.release_id) if pointer.release_id else None
        change_set = compute_change_set(pointer.release_id, current.artifacts if current else (), manifest.artifacts)
        return self._start("rollback", env, pointer, token, manifest, change_set, None)

    def mark_health(self, env: Environment, release_id: str, healthy: bool, reason: str) -> None:
        """Record a post-deploy verdict on a release in an environment (drives promotion order)."""
        self.ledger.set_health(HealthRecord(environment=env, release_id=release_id, healthy=healthy, reason=reason))
        self.audit.append(
            actor=self.actor,
            action="health",
            release_id=release_id,
            environment=str(env),
            outcome="healthy" if healthy else "unhealthy",
            details={"reason": reason},
        )

    # -- gates and refusals ------------------------------------------------------------------

    def _manifest_or_refuse(self, env: Environment, release_id: str, kind: str) -> ReleaseManifest:
        try:
            return self.repo.get(release_id)
        except FinsightError as exc:
            self._refuse(env, release_id, kind, str(exc), exc)
            raise  # unreachable: _refuse raises

    def _refuse(
        self, env: Environment, release_id: str | None, kind: str, reason: str, exc: Exception | None = None
    ) -> None:
        self.audit.append(
            actor=self.actor,
            action="refuse",
            release_id=release_id,
            environment=str(env),
            outcome="refused",
            details={"operation": kind, "reason": reason},
        )
        self.log.warning("refused", environment=str(env), release_id=release_id, operation=kind, reason=reason)
        if isinstance(exc, FinsightError):
            raise exc
        raise PromotionRefusedError(f"{kind} of {release_id} to {env} refused: {reason}")

    def _check_gates(
        self, env: Environment, manifest: ReleaseManifest, change_set: ChangeSet, override_reason: str | None
    ) -> None:
        upstream = env.upstream
        if upstream is not None:
            reason = self._order_refusal(upstream, manifest.release_id)
            if reason and not override_reason:
                self._refuse(env, manifest.release_id, "promote", reason + " (or use an audited emergency override)")
            if reason and override_reason:
                self.audit.append(
                    actor=self.actor,
                    action="override",
                    release_id=manifest.release_id,
                    environment=str(env),
                    outcome="ok",
                    details={"skipped": reason, "reason": override_reason},
                )
        for gate in self.gates:
            refusal = gate.check(env, manifest, change_set)
            if refusal:
                self._refuse(env, manifest.release_id, "promote", f"gate {gate.name}: {refusal}")

    def _order_refusal(self, upstream: Environment, release_id: str) -> str | None:
        pointer, _ = self.board.read(upstream)
        if pointer.release_id != release_id:
            return f"{release_id} is not live in {upstream} (it runs {pointer.release_id})"
        health = self.ledger.health(upstream, release_id)
        if health is None or not health.healthy:
            why = health.reason if health else "no verification recorded"
            return f"{release_id} is not healthy in {upstream}: {why}"
        return None

    # -- the state machine -------------------------------------------------------------------

    def _start(
        self,
        kind: str,
        env: Environment,
        pointer: EnvPointer,
        token: str | None,
        manifest: ReleaseManifest,
        change_set: ChangeSet,
        override_reason: str | None,
    ) -> OperationRecord:
        op_id = f"{kind}-{env}-{uuid.uuid4().hex[:10]}"
        record = OperationRecord(
            id=op_id,
            kind=kind,
            environment=env,
            from_release=pointer.release_id,
            to_release=manifest.release_id,
            actor=self.actor,
            state=OperationState.PLANNED,
            change_set=change_set,
            override_reason=override_reason,
        ).advance(OperationState.PLANNED, change_set.summary())
        self.ledger.save(record)
        try:
            self.board.swap(pointer, token, pointer.model_copy(update={"pending": op_id}))
        except StaleCasTokenError as exc:
            self._refuse(env, manifest.release_id, kind, f"another operation won the race: {exc}")
        self.audit.append(
            actor=self.actor,
            action=kind,
            release_id=manifest.release_id,
            environment=str(env),
            digests=manifest.digests if kind == "promote" else {},
            outcome="started",
            details={
                "operation_id": op_id,
                "from_release": pointer.release_id,
                "change_set": change_set.summary(),
                "classes": sorted(change_set.classes),
                "slow_path": change_set.is_slow_path,
            },
        )
        return self._run(record, manifest)

    def _resume_or_refuse(
        self, env: Environment, pointer: EnvPointer, token: str | None, release_id: str | None, kind: str
    ) -> OperationRecord:
        record = self.ledger.get(env, pointer.pending or "")
        if record is None or (release_id is not None and record.to_release != release_id) or record.kind != kind:
            in_flight = f"{record.kind} to {record.to_release}" if record else "unknown"
            self._refuse(
                env,
                release_id,
                kind,
                f"{env} is held by in-flight operation {pointer.pending} ({in_flight}); "
                "re-run that command to resume it",
            )
        assert record is not None
        self.log.info("resuming", environment=str(env), operation_id=record.id, state=str(record.state))
        return self._run(record, self.repo.get(record.to_release))

    def _run(self, record: OperationRecord, manifest: ReleaseManifest) -> OperationRecord:
        env = record.environment
        with log_context(release_id=record.to_release, environment=str(env), run_id=record.id):
            try:
                if record.state in {OperationState.PLANNED, OperationState.APPLYING}:
                    record = self._step(record, OperationState.APPLYING, lambda: self._apply(env, manifest, record))
                if record.state in {OperationState.APPLYING, OperationState.VERIFYING}:
                    record = self._step(record, OperationState.VERIFYING, lambda: self._verify(env, manifest, record))
                    return self._go_live(record, manifest)
                if record.state is OperationState.LIVE:
                    return self._go_live(record, manifest)
            except Exception as exc:  # noqa: BLE001 - every failure restores the previous release
                record = self.ledger.save(record.advance(OperationState.FAILED, error=_one_line(exc)))
            return self._restore(record)

    def _step(self, record: OperationRecord, state: OperationState, work: Any) -> OperationRecord:
        if record.state is not state:
            record = self.ledger.save(record.advance(state))
        with (
            log_context(step=str(state)),
            self.metrics.step(f"{record.kind}.{state}", environment=str(record.environment)),
        ):
            self.log.info("step started")
            work()
            self.log.info("step finished")
        return record

    def _changed(self, manifest: ReleaseManifest, record: OperationRecord) -> list[Artifact]:
        names = record.change_set.changed_names
        return [a for a in manifest.artifacts if a.name in names]

    def _apply(self, env: Environment, manifest: ReleaseManifest, record: OperationRecord) -> None:
        changed = self._changed(manifest, record)
        for target in self.targets:
            mine = [a for a in changed if a.kind in target.kinds]
            if mine:
                with (
                    log_context(target=target.name),
                    self.metrics.step(f"apply.{target.name}", environment=str(env)),
                ):
                    target.apply(env, manifest, mine, self.repo)

    def _verify(self, env: Environment, manifest: ReleaseManifest, record: OperationRecord) -> None:
        changed = self._changed(manifest, record)
        problems = []
        for target in self.targets:
            mine = [a for a in changed if a.kind in target.kinds]
            if mine:
                problems += [f"{target.name}: {p}" for p in target.verify(env, manifest, mine)]
        if problems:
            raise PromotionFailedError("verification failed: " + "; ".join(problems))

    def _go_live(self, record: OperationRecord, manifest: ReleaseManifest) -> OperationRecord:
        env = record.environment
        pointer, token = self.board.read(env)
        self.audit.append(
            actor=record.actor,
            action=record.kind,
            release_id=record.to_release,
            environment=str(env),
            digests=manifest.digests,
            outcome="ok",
            details={
                "operation_id": record.id,
                "from_release": record.from_release,
                "change_set": record.change_set.summary(),
                "override_reason": record.override_reason,
            },
        )
        if pointer.pending == record.id:
            self.board.swap(
                pointer,
                token,
                EnvPointer(
                    environment=env,
                    release_id=record.to_release,
                    seq=pointer.seq + 1,
                    previous_release_id=pointer.release_id,
                    operation=record.kind,
                    operation_id=record.id,
                    actor=record.actor,
                ),
            )
        self.ledger.set_health(
            HealthRecord(
                environment=env,
                release_id=record.to_release,
                healthy=True,
                reason=f"verified by {record.id}",
            )
        )
        record = self.ledger.save(record.advance(OperationState.LIVE))
        self.log.info("live", seconds=round(record.seconds, 3))
        return record

    def _restore(self, record: OperationRecord) -> OperationRecord:
        env = record.environment
        self.audit.append(
            actor=record.actor,
            action="fail",
            release_id=record.to_release,
            environment=str(env),
            outcome="failed",
            details={"operation_id": record.id, "error": record.error},
        )
        if record.from_release:
            previous = self.repo.get(record.from_release)
            self._apply(env, previous, record)
        pointer, token = self.board.read(env)
        if pointer.pending == record.id:
            self.board.swap(pointer, token, pointer.model_copy(update={"pending": None}))
        record = self.ledger.save(record.advance(OperationState.ROLLED_BACK, f"restored {record.from_release}"))
        self.audit.append(
            actor=record.actor,
            action="rollback",
            release_id=record.from_release,
            environment=str(env),
            outcome="ok",
            details={"operation_id": record.id, "automatic": True, "cause": record.error},
        )
        raise PromotionFailedError(
            f"{record.kind} of {record.to_release} to {env} failed and was rolled back to "
            f"{record.from_release}: {record.error}"
        )

    def _noop(self, env: Environment, pointer: EnvPointer) -> OperationRecord:
        record = self.ledger.get(env, pointer.operation_id or "")
        if record is None:
            raise PromotionRefusedError(f"{env} runs {pointer.release_id} but its operation record is missing")
        if record.state is not OperationState.LIVE:  # crashed between the pointer swap and the record
            record = self.ledger.save(record.advance(OperationState.LIVE, "completed on re-run"))
        self.log.info("noop", environment=str(env), release_id=pointer.release_id)
        return record


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
