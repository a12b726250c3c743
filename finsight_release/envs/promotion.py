"""Promotion and rollback: the state machine that moves an environment between releases.

Claim, then check: an operation first claims the environment by a compare-and-swap that sets
``pending`` on its pointer (of concurrent operations exactly one claims it; the others are refused as
"busy" before touching anything), and only then runs the gates that look at the targets; a refusal
releases the claim, with its audit event. The claim holder then applies the release in two phases:
every target *prepares* the new version (stage a folder, build a warehouse schema: nothing a consumer
sees changes), then every target *switches*, in a fixed order, each switch recorded in the operation
record. Verification follows; the audit event is written and only then the pointer swaps to the new
release. A failure switches the targets back to the previous release and releases the claim.

A crash leaves the claim and the record: re-running the same command resumes the operation;
``resolve --abort|--resume`` takes over any crashed operation; ``rollback`` takes over one whose
pointer never moved. A takeover is refused while the owning process still runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn, Protocol

from finsight_release.envs.environment import Environment
from finsight_release.envs.faults import fault_point
from finsight_release.envs.gates import Gate, first_refusal, order_refusal
from finsight_release.envs.operation import (
    HealthRecord,
    OperationLedger,
    OperationRecord,
    OperationState,
    current_owner,
    owner_status,
)
from finsight_release.envs.pointer import EnvPointer, PointerBoard
from finsight_release.envs.retention import rollback_refusal
from finsight_release.errors import (
    EnvironmentBusyError,
    FinsightError,
    PromotionFailedError,
    PromotionRefusedError,
    StaleCasTokenError,
    TakenOverError,
)
from finsight_release.observe.alerts import Alert, WebhookAlerts
from finsight_release.observe.correlation import audit_correlation, current_correlation
from finsight_release.observe.logging import get_logger, log_context
from finsight_release.observe.metrics import DEPLOY_FAILED, ROLLBACK, MetricSink, event_record
from finsight_release.one_line import exception_line
from finsight_release.release.artifact import Artifact
from finsight_release.release.changeset import ChangeSet, compute_change_set
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.base import Target

Decision = Literal["abort", "resume"]


class AuditSink(Protocol):
    """Where evidence goes: the audit log's ``append``."""

    def append(
        self,
        *,
        actor: str,
        action: str,
        outcome: str,
        release_id: str | None = None,
        environment: str | None = None,
        digests: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> Any: ...


@dataclass(frozen=True)
class TargetWork:
    """What one target gets in one step: the release's changed artifacts of its kinds, and the names of
    its kinds the release no longer has."""

    target: Target
    artifacts: tuple[Artifact, ...]
    retired: tuple[str, ...]


@dataclass
class Deployer:
    """Runs promotions and rollbacks against a store, targets and an audit sink.

    ``targets`` are switched in the order given (system.py lists the warehouse before the DAG folder,
    so new DAGs never run against old models) and switched back in the reverse order.
    """

    repo: ReleaseRepository
    targets: Sequence[Target]
    audit: AuditSink
    actor: str
    metrics: MetricSink = field(default_factory=MetricSink)
    gates: Sequence[Gate] = ()
    alerts: WebhookAlerts = field(default_factory=lambda: WebhookAlerts(None))
    retain_releases: int | None = None  # rollback only within the last N releases (None: any)

    def __post_init__(self) -> None:
        self.board = PointerBoard(self.repo.store)
        self.ledger = OperationLedger(self.repo.store)
        self.log = get_logger("finsight_release.deploy")

    # -- public operations -------------------------------------------------------------------

    def promote(
        self, env: Environment, release_id: str, override_reason: str | None = None
    ) -> OperationRecord:
        """Move ``env`` to ``release_id``; a no-op when it already runs it.

        Refused (nothing changed, audit event written) for an unknown release, a busy environment, or
        a failed gate; the promotion-order gate is skipped only with an ``override_reason``, which is
        itself audited. Re-running it after a crash resumes the crashed promotion.
        """
        manifest = self._manifest_or_refuse(env, release_id, "promote")
        pointer, token = self.board.read(env)
        if pointer.pending:
            return self._rerun_or_refuse(env, pointer, token, "promote", release_id)
        settled, _ = self._settle(env, pointer)
        if pointer.release_id == release_id:
            if settled is None:
                raise PromotionRefusedError(
                    f"{env} runs {release_id} but its operation record is missing"
                )
            self.log.info("noop", environment=str(env), release_id=release_id)
            return settled
        base = self.repo.get(pointer.release_id) if pointer.release_id else None
        change_set = compute_change_set(
            pointer.release_id, base.artifacts if base else (), manifest.artifacts
        )
        self._check_order(env, manifest, override_reason)  # reads the store only, touches no target
        record = self._claim("promote", env, pointer, token, manifest, change_set, override_reason)
        return self._run(record, manifest)

    def rollback(self, env: Environment, to_release: str | None = None) -> OperationRecord:
        """Move ``env`` back to the release it ran before (or ``to_release``, one it ran earlier).

        Nothing is rebuilt: the earlier release's versions are switched back on. When a crashed or
        failed operation holds ``env`` and has not moved its pointer, rollback takes it over and
        returns every target to the release the pointer names.
        """
        pointer, token = self.board.read(env)
        if pointer.pending:
            return self._rerun_or_refuse(env, pointer, token, "rollback", to_release)
        last, completed = self._settle(env, pointer)
        if (
            completed
            and last is not None
            and last.kind == "rollback"
            and to_release in {None, last.to_release}
        ):
            return last  # a rollback that crashed after its pointer swap: it is done, not repeated
        target = to_release or pointer.previous_release_id
        history = self.board.history(env)
        ran_before = {p.release_id for p in history}
        if target is None or target not in ran_before or target == pointer.release_id:
            reason = (
                f"{env} has no earlier release to roll back to"
                if target is None
                else f"{env} never ran release {target!r}; roll back only to a release it ran before"
                if target not in ran_before
                else f"{env} already runs {target}"
            )
            self._refuse(env, target, "rollback", reason)
        outside = (
            rollback_refusal(env, history, self.retain_releases, target)
            if self.retain_releases
            else None
        )
        if outside:
            self._refuse(env, target, "rollback", outside)
        manifest = self._manifest_or_refuse(env, str(target), "rollback")
        current = self.repo.get(pointer.release_id) if pointer.release_id else None
        change_set = compute_change_set(
            pointer.release_id, current.artifacts if current else (), manifest.artifacts
        )
        record = self._claim("rollback", env, pointer, token, manifest, change_set, None)
        return self._run(record, manifest)

    def resolve(self, env: Environment, decision: Decision, reason: str) -> OperationRecord:
        """Take over the crashed or stuck operation holding ``env``, audited with ``reason``.

        ``abort`` returns every target to the release the pointer names and releases the claim;
        ``resume`` finishes the operation. Refused when nothing holds ``env`` or when the owning
        process still runs on this host.
        """
        if not reason.strip():
            self._refuse(
                env, None, "resolve", "a --reason is required (it is written to the audit log)"
            )
        pointer, token = self.board.read(env)
        if not pointer.pending:
            self._refuse(
                env,
                None,
                "resolve",
                f"{env} has no in-flight operation to resolve (it runs {pointer.release_id})",
            )
        record = self.ledger.get(env, pointer.pending or "")
        if _holder_status(pointer, record) == "alive":
            self._busy(
                env, pointer, record, "resolve", hint="wait for it, or stop that process first"
            )
        self._take_claim(env, pointer, token, record, "resolve")
        self._audit(
            "resolve",
            env,
            "started",
            release_id=record.to_release if record else None,
            details={
                "operation_id": pointer.pending,
                "decision": decision,
                "reason": reason,
                "state": str(record.state) if record else "record missing",
                "switched": list(record.switched) if record else [],
                "operation_actor": record.actor if record else None,
            },
        )
        if record is None:
            if decision == "resume":
                raise PromotionRefusedError(
                    f"{env} is held by {pointer.pending}, whose operation record is missing: nothing to resume; "
                    "use --abort"
                )
            self._release_claim(env, pointer.pending or "")
            return OperationRecord(
                id=pointer.pending or "",
                kind="resolve",
                environment=env,
                from_release=pointer.release_id,
                to_release=pointer.release_id or "",
                actor=self.actor,
                state=OperationState.ROLLED_BACK,
                change_set=ChangeSet(base_release=pointer.release_id, changes=()),
            )
        if decision == "abort":
            return self._abort(
                record, f"aborted by {self.actor}: {reason}", {"reason": reason, "by": "resolve"}
            )
        return self._resume(record, f"resumed by {self.actor}: {reason}")

    def _take_claim(
        self,
        env: Environment,
        pointer: EnvPointer,
        token: str | None,
        record: OperationRecord | None,
        kind: str,
    ) -> None:
        """Make this process the owner of ``env``'s claim, by CAS on the pointer read before deciding:
        of two commands taking over the same crashed operation, only one gets it."""
        taken = pointer.model_copy(
            update={"owner": current_owner(), "updated_at": datetime.now(UTC)}
        )
        try:
            self.board.swap(pointer, token, taken)
        except StaleCasTokenError:
            latest, _ = self.board.read(env)
            if latest.pending:
                self._busy(
                    env,
                    latest,
                    self.ledger.get(env, latest.pending),
                    kind,
                    hint="another command took it over",
                )
            self._busy_moved(env, latest, kind)

    def mark_health(
        self,
        env: Environment,
        release_id: str,
        healthy: bool,
        reason: str,
        pending: bool = False,
        attempts: int = 0,
    ) -> None:
        """Record a post-deploy verdict on a release in an environment (drives promotion order);
        ``pending``: no conclusive verdict yet (``attempts`` inconclusive judgements so far)."""
        self.ledger.set_health(
            HealthRecord(
                environment=env,
                release_id=release_id,
                healthy=healthy,
                reason=reason,
                pending=pending and not healthy,
                attempts=attempts,
            )
        )
        self._audit(
            "health",
            env,
            "healthy" if healthy else "pending" if pending else "unhealthy",
            release_id=release_id,
            details={"reason": reason, **({"attempts": attempts} if pending else {})},
        )

    def _audit(
        self,
        action: str,
        env: Environment,
        outcome: str,
        release_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append this deployer's evidence for ``env`` (the actor is the deployer's)."""
        self.audit.append(
            actor=self.actor,
            action=action,
            release_id=release_id,
            environment=str(env),
            outcome=outcome,
            details=details,
        )

    # -- gates and refusals ------------------------------------------------------------------

    def _manifest_or_refuse(self, env: Environment, release_id: str, kind: str) -> ReleaseManifest:
        try:
            return self.repo.get(release_id)
        except FinsightError as exc:
            self._refuse(env, release_id, kind, str(exc), exc)

    def _refuse(
        self,
        env: Environment,
        release_id: str | None,
        kind: str,
        reason: str,
        exc: Exception | None = None,
    ) -> NoReturn:
        self._audit(
            "refuse",
            env,
            "refused",
            release_id=release_id,
            details={"operation": kind, "reason": reason},
        )
        self.log.warning(
            "refused", environment=str(env), release_id=release_id, operation=kind, reason=reason
        )
        if isinstance(exc, FinsightError):
            raise exc
        subject = f"{kind} of {release_id} to {env}" if release_id else f"{kind} of {env}"
        raise PromotionRefusedError(f"{subject} refused: {reason}")

    def _busy(
        self,
        env: Environment,
        pointer: EnvPointer,
        record: OperationRecord | None,
        kind: str,
        hint: str = "retry when it finishes",
    ) -> NoReturn:
        """Refuse because another operation holds ``env`` (audited); one line naming the holder."""
        if record is None:
            holder = f"operation {pointer.pending} (record missing)"
        else:
            status = _holder_status(pointer, record)
            where = {"alive": "running", "gone": "crashed", "unknown": "running elsewhere?"}[status]
            holder = f"{record.kind} to {record.to_release} ({record.id}, {record.state}, {where})"
        message = f"environment {env} is busy: {holder}; {hint}"
        self._audit(
            "refuse",
            env,
            "refused",
            release_id=record.to_release if record else None,
            details={"operation": kind, "reason": message, "held_by": pointer.pending},
        )
        self.log.warning("busy", environment=str(env), operation=kind, held_by=pointer.pending)
        raise EnvironmentBusyError(message)

    def _check_order(
        self, env: Environment, manifest: ReleaseManifest, override_reason: str | None
    ) -> None:
        upstream = env.upstream
        if upstream is None:
            return
        reason = order_refusal(self.board, self.ledger, upstream, manifest.release_id)
        if reason and not override_reason:
            self._refuse(
                env,
                manifest.release_id,
                "promote",
                reason + " (or use an audited emergency override)",
            )
        if reason and override_reason:
            self._audit(
                "override",
                env,
                "ok",
                release_id=manifest.release_id,
                details={"skipped": reason, "reason": override_reason},
            )

    # -- claim, takeover -----------------------------------------------------------------------

    def _save(self, record: OperationRecord) -> OperationRecord:
        """Persist ``record``; a state change is a fault-injection point."""
        self.ledger.save(record)
        fault_point("state", str(record.state))
        return record

    def _claim(
        self,
        kind: str,
        env: Environment,
        pointer: EnvPointer,
        token: str | None,
        manifest: ReleaseManifest,
        change_set: ChangeSet,
        override_reason: str | None,
    ) -> OperationRecord:
        """Write the operation record, then claim ``env`` by CAS; losing the CAS is "busy"."""
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
            owner=current_owner(),
        ).advance(OperationState.PLANNED, change_set.summary())
        self._save(record)
        try:
            self.board.swap(
                pointer, token, pointer.model_copy(update={"pending": op_id, "owner": record.owner})
            )
        except StaleCasTokenError:
            self.ledger.save(
                record.advance(
                    OperationState.REFUSED, "another operation claimed the environment first"
                )
            )
            latest, _ = self.board.read(env)
            holder = self.ledger.get(env, latest.pending) if latest.pending else None
            if latest.pending:
                self._busy(env, latest, holder, kind)
            self._busy_moved(env, latest, kind)
        fault_point("claimed")
        return record

    def _busy_moved(self, env: Environment, latest: EnvPointer, kind: str) -> None:
        """Refuse because another operation finished on ``env`` between our read and our claim."""
        message = (
            f"environment {env} is busy: another operation moved it while this one started "
            f"(it now runs {latest.release_id}, seq {latest.seq}); re-run to act on the new state"
        )
        self._audit(
            "refuse",
            env,
            "refused",
            release_id=latest.release_id,
            details={"operation": kind, "reason": message},
        )
        raise EnvironmentBusyError(message)

    def _release_claim(self, env: Environment, op_id: str) -> None:
        """Clear ``pending`` if ``op_id`` still holds it."""
        pointer, token = self.board.read(env)
        if pointer.pending == op_id:
            self.board.swap(
                pointer, token, pointer.model_copy(update={"pending": None, "owner": None})
            )

    def _give_up_claim(self, env: Environment, op_id: str) -> None:
        """Keep ``op_id``'s claim but own it no more (it failed and stopped; a takeover may start now)."""
        pointer, token = self.board.read(env)
        if pointer.pending == op_id and pointer.owner is not None:
            self.board.swap(pointer, token, pointer.model_copy(update={"owner": None}))

    def _rerun_or_refuse(
        self,
        env: Environment,
        pointer: EnvPointer,
        token: str | None,
        kind: str,
        release_id: str | None,
    ) -> OperationRecord:
        """``env`` is claimed: resume the holder if this is the same command and its process is gone,
        take it over if this is a rollback and its pointer never moved, else refuse as busy."""
        record = self.ledger.get(env, pointer.pending or "")
        status = _holder_status(pointer, record) if record is not None else "unknown"
        if record is None or status != "gone":
            hint = (
                "retry when it finishes"
                if status == "alive"
                else f"if it crashed: finsight-release resolve {env} --abort|--resume --reason TEXT"
            )
            self._busy(env, pointer, record, kind, hint=hint)
        assert record is not None
        same_command = record.kind == kind and release_id in {None, record.to_release}
        if same_command:
            self._take_claim(env, pointer, token, record, kind)
            return self._resume(record, "resumed by re-running the command")
        if kind == "rollback" and release_id in {None, record.from_release}:
            self._take_claim(env, pointer, token, record, kind)
            return self._abort(
                record,
                f"rollback by {self.actor} took over the crashed {record.kind}",
                {"by": "rollback"},
            )
        self._busy(
            env,
            pointer,
            record,
            kind,
            hint=f"it crashed: re-run it, or finsight-release resolve {env} --abort|--resume --reason TEXT",
        )
        raise AssertionError("unreachable")  # _busy raises

    def _takeover(self, record: OperationRecord, detail: str) -> OperationRecord:
        """The record, now owned by this process (same state, the takeover recorded)."""
        record = record.model_copy(update={"owner": current_owner()})
        return self._save(record.advance(record.state, detail))

    def _resume(self, record: OperationRecord, detail: str) -> OperationRecord:
        """Finish ``record`` from its persisted state (a failed one is retried from preparing)."""
        self.log.info(
            "resuming",
            environment=str(record.environment),
            operation_id=record.id,
            state=str(record.state),
        )
        if record.state in {OperationState.ROLLED_BACK, OperationState.REFUSED}:
            self._release_claim(record.environment, record.id)  # crashed after its audit event
            return record
        record = self._takeover(record, detail)
        if record.state is OperationState.FAILED:
            # Forward again from the start: every step is idempotent, and the failed restore may have
            # switched some targets back, so no earlier switch is trusted.
            record = record.model_copy(update={"error": None, "switched": ()})
            record = self._save(record.advance(OperationState.PREPARING, "retried"))
        return self._run(record, self.repo.get(record.to_release))

    # -- the state machine -------------------------------------------------------------------

    def _run(self, record: OperationRecord, manifest: ReleaseManifest) -> OperationRecord:
        env = record.environment
        with log_context(
            release_id=record.to_release, environment=str(env), operation_id=record.id
        ):
            if record.state is OperationState.PLANNED:
                record = self._check_then_start(record, manifest)
            try:
                if record.state is OperationState.PREPARING:
                    self._step(record, lambda: self._prepare(record, manifest))
                    record = self._save(record.advance(OperationState.SWITCHING))
                if record.state is OperationState.SWITCHING:
                    with self._timed(record, OperationState.SWITCHING):
                        record = self._switch_all(record, manifest)
                    record = self._save(record.advance(OperationState.VERIFYING))
                if record.state is OperationState.VERIFYING:
                    self._step(record, lambda: self._verify(record, manifest))
                    return self._go_live(record, manifest)
                if record.state is OperationState.LIVE:
                    return self._go_live(record, manifest)
            except TakenOverError:
                raise  # the new owner decides what the targets serve
            except Exception as exc:  # noqa: BLE001 - every failure restores the previous release
                record = self._save(
                    record.advance(OperationState.FAILED, error=exception_line(exc))
                )
            return self._restore(record)

    def _check_then_start(
        self, record: OperationRecord, manifest: ReleaseManifest
    ) -> OperationRecord:
        """Run the gates while holding the claim; a refusal releases it (audited), else go to preparing."""
        env = record.environment
        refusal = (
            first_refusal(self.gates, env, manifest, record.change_set)
            if record.kind == "promote"
            else None
        )
        if refusal:
            self._audit(
                "refuse",
                env,
                "refused",
                release_id=record.to_release,
                details={
                    "operation": record.kind,
                    "reason": refusal,
                    "operation_id": record.id,
                    "claim": "released",
                },
            )
            self._release_claim(env, record.id)
            self.ledger.save(record.advance(OperationState.REFUSED, refusal))
            self.log.warning("refused", operation=record.kind, reason=refusal)
            raise PromotionRefusedError(
                f"{record.kind} of {record.to_release} to {env} refused: {refusal}"
            )
        self.audit.append(
            actor=self.actor,
            action=record.kind,
            release_id=record.to_release,
            environment=str(env),
            digests=manifest.digests if record.kind == "promote" else {},
            outcome="started",
            details={
                "operation_id": record.id,
                "from_release": record.from_release,
                "change_set": record.change_set.summary(),
                "classes": sorted(record.change_set.classes),
                "slow_path": record.change_set.is_slow_path,
            },
        )
        return self._save(record.advance(OperationState.PREPARING))

    def _timed(self, record: OperationRecord, state: OperationState) -> Any:
        return self.metrics.step(f"{record.kind}.{state}", environment=str(record.environment))

    def _step(self, record: OperationRecord, work: Any) -> None:
        with log_context(step=str(record.state)), self._timed(record, record.state):
            self.log.info("step started")
            work()
            self.log.info("step finished")

    def _work(self, manifest: ReleaseManifest | None, change_set: ChangeSet) -> list[TargetWork]:
        """Per target, the artifacts of ``manifest`` the change set touches, and the names it retires."""
        names = change_set.changed_names
        present = {a.name for a in manifest.artifacts} if manifest else set()
        work = []
        for target in self.targets:
            mine = (a for a in (manifest.artifacts if manifest else ()) if a.kind in target.kinds)
            artifacts = tuple(a for a in mine if a.name in names)
            retired = tuple(
                c.name
                for c in change_set.changes
                if c.kind in target.kinds and c.name not in present
            )
            if artifacts or retired:
                work.append(TargetWork(target, artifacts, retired))
        return work

    def _prepare(self, record: OperationRecord, manifest: ReleaseManifest) -> None:
        env = record.environment
        for item in self._work(manifest, record.change_set):
            if item.artifacts:
                with (
                    log_context(target=item.target.name),
                    self.metrics.step(f"prepare.{item.target.name}", environment=str(env)),
                ):
                    item.target.prepare(env, manifest, item.artifacts, self.repo)
            fault_point("prepared", item.target.name)

    def _switch_all(self, record: OperationRecord, manifest: ReleaseManifest) -> OperationRecord:
        """Switch each target not yet switched, in order, recording each switch as it completes."""
        env = record.environment
        for item in self._work(manifest, record.change_set):
            name = item.target.name
            if name in record.switched:
                continue
            self._check_still_mine(record)
            fault_point("switch.begin", name)
            with (
                log_context(target=name),
                self.metrics.step(f"switch.{name}", environment=str(env)),
            ):
                item.target.switch(env, manifest, item.artifacts, item.retired)
            fault_point("switch.done", name)
            record = self._save(record.with_switched(name))
            fault_point("switched", name)
        self._mark_release(env, manifest)
        return record

    def _mark_release(self, env: Environment, manifest: ReleaseManifest) -> None:
        """Tell every target that publishes a release marker which release it now serves (whatever
        the change set touched, so a dbt-only release still renames what the DAG bundle runs)."""
        for target in self.targets:
            mark = getattr(target, "mark_release", None)
            if mark is not None and manifest.release_id:
                mark(env, manifest, current_correlation())

    def _switch_back(self, record: OperationRecord) -> None:
        """Return every target the operation may have switched to ``from_release``, in reverse order.

        Previous versions are still prepared (they were live), so this is switches only; ``prepare``
        runs first anyway, which is a no-op for a version that exists.
        """
        if not record.reached_switching:
            return  # nothing was switched: the targets still serve the previous release
        env = record.environment
        previous = self.repo.get(record.from_release) if record.from_release else None
        order = [
            item.target.name
            for item in self._work(self.repo.get(record.to_release), record.change_set)
        ]
        touched = set(record.switched)
        pending_next = next((n for n in order if n not in touched), None)
        if pending_next is not None:
            touched.add(pending_next)  # its switch may have happened before the crash was recorded
        for item in reversed(self._work(previous, record.change_set)):
            if item.target.name not in touched:
                continue
            # A target may restore differently from a forward switch (the Airflow target does not
            # stop a restore on Airflow's checks): its optional ``switch_back`` replaces both steps.
            switch_back = getattr(item.target, "switch_back", None)
            if switch_back is not None:
                with log_context(target=item.target.name):
                    switch_back(env, previous or _EMPTY, item.artifacts, item.retired, self.repo)
                continue
            if item.artifacts:
                assert previous is not None
                item.target.prepare(env, previous, item.artifacts, self.repo)
            with log_context(target=item.target.name):
                item.target.switch(env, previous or _EMPTY, item.artifacts, item.retired)
        if previous is not None:
            self._mark_release(env, previous)

    def _verify(self, record: OperationRecord, manifest: ReleaseManifest) -> None:
        problems = []
        for item in self._work(manifest, record.change_set):
            if item.artifacts:
                problems += [
                    f"{item.target.name}: {p}"
                    for p in item.target.verify(record.environment, manifest, item.artifacts)
                ]
        if problems:
            raise PromotionFailedError("verification failed: " + "; ".join(problems))

    def _go_live(self, record: OperationRecord, manifest: ReleaseManifest) -> OperationRecord:
        """Audit, then swap the pointer to the new release (which releases the claim), then record."""
        env = record.environment
        pointer, token = self._check_still_mine(record)
        self.audit.append(
            actor=self.actor,
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
                "switched": list(record.switched),
            },
        )
        fault_point("audit.live")
        moved = EnvPointer(
            environment=env,
            release_id=record.to_release,
            seq=pointer.seq + 1,
            previous_release_id=pointer.release_id,
            operation=record.kind,
            operation_id=record.id,
            actor=self.actor,
        )
        try:
            self.board.swap(pointer, token, moved)
        except StaleCasTokenError as exc:
            raise TakenOverError(f"{record.id} lost {env} while going live: {exc}") from exc
        fault_point("pointer.swapped")
        if record.kind == "rollback":
            self.metrics.emit(event_record(ROLLBACK, str(env), Automatic=False))
        record = self._mark_live(record)
        self._after_live(record, manifest)
        return record

    def _after_live(self, record: OperationRecord, manifest: ReleaseManifest) -> None:
        """Tell the targets that switched that the operation is live (the warehouse starts refreshing
        restored tables in the background); best effort: the operation is done whatever happens."""
        for item in self._work(manifest, record.change_set):
            hook = getattr(item.target, "after_live", None)
            if hook is None or not item.artifacts:
                continue
            try:
                hook(record.environment, manifest)
            except Exception as exc:  # noqa: BLE001 - live already; report, never undo
                self.log.warning(
                    "after_live failed", target=item.target.name, error=exception_line(exc)
                )

    def _check_still_mine(self, record: OperationRecord) -> tuple[EnvPointer, str | None]:
        """The pointer and its token, if ``record`` still holds the claim in this process; else
        TakenOverError (a ``resolve`` from another host took over while this process ran on)."""
        env = record.environment
        pointer, token = self.board.read(env)
        if pointer.pending != record.id or (
            pointer.owner is not None and pointer.owner != record.owner
        ):
            raise TakenOverError(
                f"{record.id} no longer holds {env} (held by {pointer.pending}, {pointer.owner}): taken over"
            )
        return pointer, token

    def _mark_live(self, record: OperationRecord, detail: str | None = None) -> OperationRecord:
        # Live is not healthy: health comes from the post-deploy checks (checks.health.settle).
        self.ledger.set_health(
            HealthRecord(
                environment=record.environment,
                release_id=record.to_release,
                healthy=False,
                pending=True,
                reason=f"live by {record.id}; awaiting its post-deploy checks",
            )
        )
        record = self._save(record.advance(OperationState.LIVE, detail))
        self.log.info("live", seconds=round(record.seconds, 3))
        return record

    def _restore(self, record: OperationRecord) -> OperationRecord:
        """After a failure: switch the targets back, release the claim, raise PromotionFailedError.

        When switching back fails too (e.g. the warehouse stays locked), the claim is kept and the
        failure is audited: ``resolve --abort`` (or ``rollback``) finishes the job.
        """
        env = record.environment
        self._audit(
            "fail",
            env,
            "failed",
            release_id=record.to_release,
            details={
                "operation_id": record.id,
                "error": record.error,
                "switched": list(record.switched),
            },
        )
        self.metrics.emit(event_record(DEPLOY_FAILED, str(env), Operation=record.kind))
        self._switch_back_or_give_up(
            record, f"{record.kind} of {record.to_release} to {env} failed ({record.error})"
        )
        self.metrics.emit(event_record(ROLLBACK, str(env), Automatic=True))
        self._audit(
            "rollback",
            env,
            "ok",
            release_id=record.from_release,
            details={"operation_id": record.id, "automatic": True, "cause": record.error},
        )
        self._release_claim(env, record.id)
        self._save(record.advance(OperationState.ROLLED_BACK, f"restored {record.from_release}"))
        # After the restore: a slow or dead webhook never delays or stops it.
        self.alerts.send(
            Alert(
                title=f"{record.kind} of {record.to_release} to {env} failed; rolled back to "
                f"{record.from_release}",
                release_id=record.to_release,
                environment=str(env),
                layer=_failing_layer(record),
                explanation=record.error,
                ids={"operation_id": record.id, **audit_correlation()},
            )
        )
        raise PromotionFailedError(
            f"{record.kind} of {record.to_release} to {env} failed and was rolled back to "
            f"{record.from_release}: {record.error}"
        )

    def _switch_back_or_give_up(self, record: OperationRecord, what: str) -> None:
        """Switch the targets back; when that fails too (e.g. the warehouse stays locked), audit it, keep
        the claim but give up its ownership, and raise one line saying how to finish the job."""
        env = record.environment
        try:
            self._switch_back(record)
        except Exception as exc:  # noqa: BLE001 - any failure here leaves the claim for a takeover
            problem = exception_line(exc)
            # Nobody runs it any more, even if this process lives on (a Dagster run worker): no owner
            # lets rollback or resolve take it over at once.
            self.ledger.save(record.model_copy(update={"owner": None}))
            self._give_up_claim(env, record.id)
            self._audit(
                "restore",
                env,
                "failed",
                release_id=record.from_release,
                details={"operation_id": record.id, "cause": record.error, "error": problem},
            )
            raise PromotionFailedError(
                f"{what} and restoring {record.from_release} failed too ({problem}); {env} stays claimed by "
                f"{record.id}: run `finsight-release resolve {env} --abort --reason TEXT` or "
                f"`finsight-release rollback {env}`"
            ) from exc

    def _abort(
        self, record: OperationRecord, detail: str, details: dict[str, Any]
    ) -> OperationRecord:
        """Take over ``record``: switch every target back to ``from_release``, audit, release the claim."""
        env = record.environment
        if record.state in {OperationState.ROLLED_BACK, OperationState.REFUSED}:
            self._release_claim(
                env, record.id
            )  # crashed after it was undone: only the claim is left
            return record
        record = self._takeover(record, detail)
        self._switch_back_or_give_up(
            record, f"aborting {record.kind} {record.id} of {record.to_release}"
        )
        self._audit(
            "rollback",
            env,
            "ok",
            release_id=record.from_release,
            details={
                "operation_id": record.id,
                "aborted": record.kind,
                "aborted_release": record.to_release,
                "operation_actor": record.actor,
                **details,
            },
        )
        self._release_claim(env, record.id)
        self.metrics.emit(event_record(ROLLBACK, str(env), Automatic=False, Aborted=record.kind))
        record = self._save(record.advance(OperationState.ROLLED_BACK, detail))
        self.log.info("aborted", environment=str(env), operation_id=record.id)
        return record

    def _settle(self, env: Environment, pointer: EnvPointer) -> tuple[OperationRecord | None, bool]:
        """The operation that last moved ``env``, and whether it had crashed after its pointer swap
        (then it is marked live now)."""
        record = self.ledger.get(env, pointer.operation_id or "") if pointer.operation_id else None
        if (
            record is not None
            and record.state is not OperationState.LIVE
            and record.to_release == pointer.release_id
        ):
            record = self._mark_live(record, "completed by the next command")
            self._after_live(record, self.repo.get(record.to_release))
            return record, True
        return record, False


_EMPTY = ReleaseManifest.model_construct(
    artifacts=()
)  # what a target returns to before a first release


def _failing_layer(record: OperationRecord) -> str:
    """Where a failed operation broke: the step it was in, and the target when it was switching."""
    failed_in = next(
        (t.state for t in reversed(record.transitions) if t.state is not OperationState.FAILED),
        record.state,
    )
    return f"deploy:{failed_in}" + (
        f" (after {', '.join(record.switched)})" if record.switched else ""
    )


def _holder_status(
    pointer: EnvPointer, record: OperationRecord | None
) -> Literal["alive", "gone", "unknown"]:
    """Whether the process holding ``pointer``'s claim still runs (the pointer names it; a pointer
    written before owners were recorded falls back to the operation record)."""
    if pointer.owner is None and "owner" not in pointer.model_fields_set and record is not None:
        return owner_status(record.owner)
    return owner_status(pointer.owner)
