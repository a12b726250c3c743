"""The release system assembled from settings: store, releases, targets, deployer, evidence.

Entry points (CLI, Dagster assets, CI) build one :class:`ReleaseSystem` and call the core through it,
so every path uses the same store, audit log and targets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from finsight_release.envs.environment import Environment
from finsight_release.envs.pointer import EnvPointer, PointerBoard
from finsight_release.envs.promotion import Deployer
from finsight_release.errors import FinsightError, UnknownReleaseError
from finsight_release.observe.logging import get_logger
from finsight_release.observe.metrics import (
    BLOCKING_CHECK_FAILED,
    DRIFT_DETECTED,
    MetricSink,
    event_record,
)
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import Progress, ReleaseRepository
from finsight_release.settings import Settings, load_settings
from finsight_release.store import open_store
from finsight_release.targets.base import Target
from finsight_release.targets.folder import FolderTarget

if TYPE_CHECKING:
    from datetime import datetime

    from finsight_release.audit.export import BundleCheck, ExportResult
    from finsight_release.audit.log import AuditLog
    from finsight_release.audit.prune import PruneResult
    from finsight_release.checks.judge import ReleaseJudgement
    from finsight_release.diagnose.classifier import Diagnosis
    from finsight_release.diagnose.doctor import DoctorReport
    from finsight_release.diagnose.layers import DoctorContext
    from finsight_release.envs.as_of import RanAt
    from finsight_release.envs.operation import OperationRecord
    from finsight_release.envs.pause import PauseRecord
    from finsight_release.observe.alerts import WebhookAlerts
    from finsight_release.observe.dora import DoraReport
    from finsight_release.observe.operation_observer import OperationObserver
    from finsight_release.observe.trail import ReleaseTrail
    from finsight_release.pipeline.attribution import Attribution
    from finsight_release.pipeline.next_promotion import PipelineView, PromotionDecision
    from finsight_release.store.base import ObjectStore
    from finsight_release.targets.airflow_health import AirflowHealth
    from finsight_release.targets.data_diff import EnvironmentDiff
    from finsight_release.targets.dbt_overlay import DbtInvoker
    from finsight_release.targets.environment_models import EnvironmentModels
    from finsight_release.targets.janitor import JanitorReport
    from finsight_release.targets.mwaa import MwaaTarget
    from finsight_release.targets.spark.target import PublishedSmoke, SparkJobTarget
    from finsight_release.targets.streaming.health import TopicHealth
    from finsight_release.targets.streaming.target import StreamingTarget
    from finsight_release.targets.warehouse import DuckDbWarehouseTarget
    from finsight_release.validate.record import ValidationOutcome
    from finsight_release.validate.runner import CheckProgress
    from finsight_release.validate.terraform.plan import DriftEntry


RUN_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)  # a Dagster run id


@dataclass
class ReleaseSystem:
    """Everything an operation needs, built lazily from :class:`Settings`."""

    settings: Settings = field(default_factory=load_settings)
    observers: list[OperationObserver] = field(default_factory=list)
    # How the warehouse target runs dbt (None: a subprocess); a Dagster run passes dagster-dbt's.
    dbt_invoker: DbtInvoker | None = None

    @cached_property
    def repo(self) -> ReleaseRepository:
        return ReleaseRepository(open_store(self.settings.store_url))

    @cached_property
    def board(self) -> PointerBoard:
        return PointerBoard(self.repo.store)

    @cached_property
    def audit(self) -> AuditLog:  # imported lazily to keep start-up fast
        from finsight_release.audit.log import AuditLog

        return AuditLog(self.settings.audit_url, anchor=self.repo.store)

    @cached_property
    def metrics(self) -> MetricSink:
        return (
            MetricSink(to_stdout=True)
            if self.settings.is_aws
            else MetricSink(self.settings.metrics_path)
        )

    @cached_property
    def alerts(self) -> WebhookAlerts:
        """Where alerts go: the Slack-compatible webhook of ``FINSIGHT_ALERT_WEBHOOK``, or the log."""
        from finsight_release.observe.alerts import WebhookAlerts

        return WebhookAlerts(self.settings.alert_webhook)

    @cached_property
    def folder_target(self) -> FolderTarget:
        """The published folders; an environment with an Airflow API configured
        (``FINSIGHT_AIRFLOW_API_<ENV>``) gets its DAG bundle switch verified through it."""
        from finsight_release.targets.self_managed import (
            SelfManagedAirflowTarget,
            endpoints_from_environ,
        )

        return SelfManagedAirflowTarget(
            self.settings.home / "targets",
            frozenset(ArtifactKind)
            - {ArtifactKind.DBT_PROJECT}
            - {kind for target in self.spark_targets for kind in target.kinds},
            endpoints_from_environ(),
        )

    @cached_property
    def targets(self) -> list[Target]:
        """The deploy targets in switch order: the warehouse (models) before the DAG folder, so new DAGs
        never run against old models (a rollback switches back in the reverse order). With MWAA
        environments (AWS mode), MWAA takes their Airflow artifacts and the folder target the rest."""
        if self.mwaa_target is not None:
            from finsight_release.targets.mwaa_environments import route_airflow

            return [
                self.warehouse_target,
                *self.spark_targets,
                self.streaming_target,
                *route_airflow(self.mwaa_target, self.folder_target),
            ]
        return [
            self.warehouse_target,
            *self.spark_targets,
            self.streaming_target,
            self.folder_target,
        ]

    @cached_property
    def mwaa_target(self) -> MwaaTarget | None:
        """In AWS mode, the MWAA target of the environments whose config in the platform tree says
        ``airflow.target: mwaa``; None locally or when no environment does."""
        if not self.settings.is_aws:
            return None
        from finsight_release.targets.mwaa_environments import mwaa_placements, open_mwaa_target

        placements = mwaa_placements(self.settings.platform)
        return open_mwaa_target(placements) if placements else None

    @cached_property
    def warehouse_target(self) -> DuckDbWarehouseTarget:
        """The dbt project's target: DuckDB files; in AWS mode, each environment whose config in the
        platform tree says ``warehouse.type: snowflake`` deploys to its Snowflake database instead."""
        from finsight_release.targets.warehouse import DuckDbWarehouseTarget

        projects = self.folder_target.root / "dbt"
        if self.settings.is_aws:
            from finsight_release.targets.snowflake_warehouse import (
                SnowflakeWarehouseTarget,
                snowflake_environments,
            )
            from finsight_release.targets.warehouse_by_environment import WarehouseByEnvironment

            environments = snowflake_environments(self.settings.platform)
            if environments:
                snowflake = SnowflakeWarehouseTarget(projects, environments)
                routed = WarehouseByEnvironment(self.settings.warehouse_path, projects, snowflake)
                routed.dbt_invoker = self.dbt_invoker or routed.dbt_invoker
                return routed
        target = DuckDbWarehouseTarget(self.settings.warehouse_path, projects)
        target.dbt_invoker = self.dbt_invoker or target.dbt_invoker
        return target

    @cached_property
    def deployer(self) -> Deployer:
        from finsight_release.diagnose.detection import DetectionGate
        from finsight_release.validate.record import ValidationGate

        guarded = frozenset(Environment.parse(name) for name in self.settings.require_validation)
        return Deployer(
            repo=self.repo,
            targets=self.targets,
            audit=self.audit,
            actor=self.settings.actor,
            metrics=self.metrics,
            alerts=self.alerts,
            gates=[
                ValidationGate(self.repo.store, guarded),
                DetectionGate(self.settings.home, self.settings.warehouse_path),
            ],
            retain_releases=self.settings.retain_releases,
        )

    def judge(self, env: Environment, now: datetime | None = None) -> ReleaseJudgement:
        """Run the post-deploy checks that judge the release ``env`` runs (dbt tests, Soda contracts,
        source freshness against what its warehouse publishes) and settle its health from them
        (``checks.health``: passed -> healthy, a blocking failure -> unhealthy, inconclusive ->
        judged again, then the pipeline pauses); audited. A release with
        no dbt project has no warehouse checks: its judgement is empty, so it passes."""
        from finsight_release.checks.judge import (
            ReleaseJudgement,
            judge_release,
            record_judgement,
        )

        now = now or self.settings.checks_clock
        release_id = self.board.read(env)[0].release_id
        if release_id and self.repo.get(release_id).artifact("dbt/project") is None:
            judgement = ReleaseJudgement(str(env), release_id)
            record_judgement(
                judgement,
                self.deployer,
                self.audit,
                self.settings.actor,
                self.settings.check_attempts,
            )
        else:
            judgement = judge_release(
                self.warehouse_target,
                self.deployer,
                self.audit,
                self.settings.actor,
                env,
                now,
                self.settings.check_attempts,
            )
        return judgement

    def janitor(self, dry_run: bool = False) -> list[JanitorReport]:
        """Drop the warehouse relations no environment keeps (its last ``retain_releases`` releases, its
        current one, an in-flight target); audited with what was dropped per environment."""
        from finsight_release.envs.retention import protected_releases
        from finsight_release.targets.janitor import protected_digests, sweep

        deployer = self.deployer
        protected = protected_releases(
            deployer.board, deployer.ledger, self.settings.retain_releases
        )
        digests = protected_digests(self.repo, protected)
        reports = [sweep(self.warehouse_target, env, digests, dry_run) for env in Environment]
        if not dry_run:
            self.audit.append(
                actor=self.settings.actor,
                action="janitor",
                outcome="ok",
                details={
                    "retain_releases": self.settings.retain_releases,
                    "protected": protected,
                    "dropped": {str(r.environment): r.dropped for r in reports if r.dropped},
                },
            )
        return reports

    def validate(
        self,
        env: Environment,
        platform: Path | None = None,
        base: str | None = "auto",
        validate_all: bool = False,
        workers: int = 2,
        progress: Callable[[CheckProgress], None] | None = None,
    ) -> ValidationOutcome:
        """Validate ``platform`` for ``env`` against ``base`` ('auto': what env runs now; None: everything),
        record the verdict under the tree's release id and audit it; returns (report, verdict, change_set)."""
        from finsight_release.release.manifest import release_id_for
        from finsight_release.validate.record import ValidationOutcome, record_verdict
        from finsight_release.validate.registry import default_checks
        from finsight_release.validate.release_validation import ValidationRequest, validate_release

        base_id = self.board.read(env)[0].release_id if base == "auto" else base
        tree = platform or self.settings.platform
        request = ValidationRequest(tree, env, base_id, validate_all or base_id is None, workers)
        with self.metrics.step("validate", environment=str(env)):
            report, artifacts, change_set = validate_release(
                request,
                self.repo,
                default_checks(),
                self.settings.home,
                self.settings.airflow_python,
                progress=progress,
                warehouse_dir=self.settings.warehouse_path,
                mode=self.settings.mode,
                spark_python=self.settings.spark_python,
            )
        release_id = release_id_for(artifacts)
        report = report.model_copy(update={"data_diffs": self.data_diffs(release_id)})
        verdict = record_verdict(self.repo.store, release_id, env, report)
        if not report.passed:
            self.metrics.emit(
                event_record(
                    BLOCKING_CHECK_FAILED, str(env), ReleaseId=release_id, Errors=report.counts
                )
            )
        self.audit.append(
            actor=self.settings.actor,
            action="validate",
            release_id=release_id,
            environment=str(env),
            digests={a.name: a.digest for a in artifacts},
            outcome="ok" if report.passed else "failed",
            details={
                "base_release": base_id,
                "counts": report.counts,
                "seconds": report.seconds,
                "changed": sorted(change_set.changed_names) if change_set else "all",
            },
        )
        if self.observers:
            from finsight_release.release.manifest import ReleaseManifest

            described = ReleaseManifest(
                release_id=release_id, author=self.settings.actor, artifacts=tuple(artifacts)
            )
            self._notify("validated", env, described, report, verdict)
        return ValidationOutcome(report, verdict, change_set)

    def airflow_dags_folder(self, env: Environment) -> Path:
        """The stable path an environment's Airflow reads DAGs from."""
        return self.folder_target.live_path(env, "airflow/dags")

    def build(
        self,
        platform: Path | None = None,
        base_env: Environment = Environment.PROD,
        progress: Progress | None = None,
    ) -> tuple[ReleaseManifest, bool]:
        """Build the release of ``platform`` (default: settings), change set against ``base_env``."""
        pointer, _ = self.board.read(base_env)
        base = self.repo.get(pointer.release_id) if pointer.release_id else None
        with self.metrics.step("build") as extra:
            manifest, created = self.repo.build(
                platform or self.settings.platform, self.settings.actor, base, progress
            )
            extra["Outcome"] = "ok" if created else "noop"
        if created:
            self.audit.append(
                actor=self.settings.actor,
                action="build",
                release_id=manifest.release_id,
                environment=None,
                digests=manifest.digests,
                outcome="ok",
                details={
                    "git_sha": manifest.git_sha,
                    "git_dirty": manifest.git_dirty,
                    "artifacts": len(manifest.artifacts),
                    "change_set": manifest.change_set.summary()
                    if manifest.change_set
                    else "first release",
                },
            )
        self._notify("built", manifest)
        return manifest, created

    def promote(
        self,
        env: Environment,
        release_id: str,
        override_reason: str | None = None,
        canary: tuple[str, ...] = (),
    ) -> OperationRecord:
        """Promote ``release_id`` to ``env`` (:meth:`Deployer.promote`), then tell the observers.

        ``canary``: these changed DAGs go live first and must pass a smoke run before the rest of the
        bundle follows (needs ``env``'s Airflow API, ``FINSIGHT_AIRFLOW_API_<ENV>``, or MWAA).
        """
        from finsight_release.targets.self_managed import SelfManagedAirflowTarget

        target = self.folder_target
        mwaa = (
            self.mwaa_target if self.mwaa_target and env in self.mwaa_target.environments else None
        )
        if (
            canary
            and mwaa is None
            and not (isinstance(target, SelfManagedAirflowTarget) and target.api(env) is not None)
        ):
            raise FinsightError(
                f"--canary needs the Airflow API of {env} (set FINSIGHT_AIRFLOW_API_{str(env).upper()})"
            )
        if isinstance(target, SelfManagedAirflowTarget):
            target.canary_dags = canary
        if mwaa is not None:
            mwaa.canary_dags = canary
        try:
            return self._deployed(self.deployer.promote(env, release_id, override_reason))
        finally:
            if isinstance(target, SelfManagedAirflowTarget):
                target.canary_dags = ()
            if mwaa is not None:
                mwaa.canary_dags = ()

    def airflow_health(
        self,
        env: Environment,
        measure_start: bool = False,
        must_succeed: bool = True,
        last_runs: Mapping[str, str] | None = None,
    ) -> AirflowHealth:
        """What ``env``'s Airflow says about its live release (import errors, the critical DAGs' last
        runs, or ``last_runs`` as another observer read them (the Dagster checks: dagster-airlift);
        with ``measure_start`` a smoke run each, measured against the 10-minute start SLA).

        Audited; a failing reading marks the release unhealthy in ``env`` (``Deployer.mark_health``).
        An MWAA environment (AWS mode) is read the same way through ``invoke_rest_api``. An
        environment without an Airflow API returns an unconfigured reading and writes nothing.
        """
        from finsight_release.targets.airflow_health import (
            AirflowHealth,
            read_airflow_health,
            read_mwaa_health,
        )
        from finsight_release.targets.self_managed import SelfManagedAirflowTarget

        release_id = self.board.read(env)[0].release_id
        target = self.folder_target
        if self.mwaa_target is not None and env in self.mwaa_target.environments:
            health = read_mwaa_health(
                self.mwaa_target, env, release_id, measure_start, must_succeed
            )
        elif not isinstance(target, SelfManagedAirflowTarget):
            return AirflowHealth(str(env), release_id, configured=False)
        else:
            health = read_airflow_health(
                target, env, release_id, measure_start, must_succeed, last_runs
            )
        if not health.configured:
            return health
        for record in health.metric_records():  # a missed start SLA pages (CloudWatch alarm)
            self.metrics.emit(record)
        self.audit.append(
            actor=self.settings.actor,
            action="airflow_health",
            release_id=release_id,
            environment=str(env),
            outcome="healthy" if health.healthy else "unhealthy",
            details=health.as_dict(),
        )
        if not health.healthy and release_id:
            self.deployer.mark_health(env, release_id, False, f"airflow: {health.reason()}")
        return health

    def rollback(self, env: Environment, to_release: str | None = None) -> OperationRecord:
        """Roll ``env`` back (:meth:`Deployer.rollback`), then tell the observers."""
        return self._deployed(self.deployer.rollback(env, to_release))

    def resolve(
        self, env: Environment, decision: Literal["abort", "resume"], reason: str
    ) -> OperationRecord:
        """Take over ``env``'s stuck operation (:meth:`Deployer.resolve`), then tell the observers."""
        return self._deployed(self.deployer.resolve(env, decision, reason))

    def _deployed(self, record: OperationRecord) -> OperationRecord:
        live = record.live_release
        if live is not None:
            self._notify("deployed", record.environment, self.repo.get(live), record)
            models = self.environment_models(record.environment)
            if models is not None:
                self._notify("models_deployed", models, record)
        return record

    def environment_models(self, env: Environment) -> EnvironmentModels | None:
        """The dbt models ``env``'s warehouse publishes (release, fingerprints, physical relations),
        or None when it publishes none."""
        from finsight_release.errors import NothingPublishedError
        from finsight_release.targets.environment_models import environment_models

        try:
            return environment_models(self.warehouse_target, env)
        except NothingPublishedError:
            return None

    def _notify(self, event: str, *args: Any) -> None:
        """Tell each observer; one that fails is logged, never fails the operation."""
        for observer in self.observers:
            try:
                getattr(observer, event)(*args)
            except Exception as exc:  # noqa: BLE001 - the audit log, not an observer, is the record
                get_logger("finsight_release.system").warning(
                    "observer failed", observer=type(observer).__name__, hook=event, error=str(exc)
                )

    @property
    def log_file(self) -> Path:
        """The local JSON-lines log the CLI writes (AWS mode logs to stderr, collected by CloudWatch)."""
        return self.settings.home / "logs" / "finsight-release.jsonl"

    def release_trail(self, release_id: str, airflow_logs: Path | None = None) -> ReleaseTrail:
        """Everything recorded about ``release_id``: audit events, operations, Dagster runs, log lines,
        metric records and the Airflow task logs naming it (under ``airflow_logs``, default the
        ``logs`` folder of the local Airflow home). Unknown releases are an error, not an empty answer."""
        from finsight_release.observe.trail import gather_trail

        events = self.audit.events(release_id=release_id)
        if not events and not self.repo.store.exists(f"releases/{release_id}.json"):
            raise UnknownReleaseError(
                f"unknown release {release_id!r}: no audit event and no manifest names it"
            )
        # Events of the same operations that name another release (an automatic rollback names the
        # release it restored) belong to this release's trail too.
        operations = {e["details"].get("operation_id") for e in events} - {None}
        seen = {e["seq"] for e in events}
        events += [
            e
            for e in (self.audit.events() if operations else [])
            if e["details"].get("operation_id") in operations and e["seq"] not in seen
        ]
        return gather_trail(
            release_id,
            events,
            [self.log_file],
            None if self.settings.is_aws else self.settings.metrics_path,
            airflow_logs or self.settings.airflow_dags_dir / "logs",
        )

    def ran_at(self, instant: str, envs: list[Environment] | None = None) -> list[RanAt]:
        """What each of ``envs`` (default: all) ran at ``instant`` (ISO 8601, inside the 90-day window),
        since when, who put it there, and its go-live audit event as evidence."""
        from finsight_release.envs.as_of import parse_instant, ran_at

        at = parse_instant(instant)
        pruned = self.audit.prune_anchor()  # go-lives before it are evidenced by its bundle
        answers = []
        for env in envs or list(Environment):
            events = [
                e
                for action in ("promote", "rollback")
                for e in self.audit.events(environment=str(env), action=action)
                if e["outcome"] == "ok"
            ]
            history = self.board.history(env)
            answer = ran_at(env, at, history, events, pruned=pruned)
            if answer.release_id and not answer.digests:  # moved before it was audited
                digests = {answer.release_id: self.repo.get(answer.release_id).digests}
                answer = ran_at(env, at, history, events, digests, pruned)
            answers.append(answer)
        return answers

    def export_evidence(self, env: Environment, start: str, end: str, out: str) -> ExportResult:
        """Write the SOX evidence bundle of ``env``'s production changes from ``start`` to ``end``
        (dates or timestamps) to ``out`` (a new directory, or ``s3://bucket/prefix`` on a bucket with
        Object Lock: every object COMPLIANCE-retained 90 days); the export itself is audited."""
        from datetime import UTC, datetime

        from finsight_release.audit.export import (
            EVIDENCE_RETENTION,
            change_records,
            parse_range,
            releases_evidence,
            write_bundle,
        )
        from finsight_release.audit.verify import chain_record, verify_chain

        first, last = parse_range(start, end)
        dest = self._evidence_store(out, for_writing=True)
        chain = verify_chain(self.audit)
        slice_events = self.audit.events_between(first.isoformat(), last.isoformat())
        everything = self.audit.events()
        manifests, verdicts = releases_evidence(self.repo.store, str(env), slice_events)
        records = change_records(str(env), slice_events, everything, manifests, verdicts)
        result = write_bundle(
            dest,
            env=str(env),
            start=first,
            end=last,
            slice_events=slice_events,
            records=records,
            chain=chain_record(self.audit, chain),
            exporter=self.settings.actor,
            retain_until=datetime.now(UTC) + EVIDENCE_RETENTION,
        )
        self.audit.append(
            actor=self.settings.actor,
            action="export",
            environment=str(env),
            outcome="ok",
            details={
                "location": result.location,
                "from": first.isoformat(),
                "to": last.isoformat(),
                "changes": result.changes,
                "events": result.events,
                "manifest_sha256": result.manifest_sha256,
                "chain_ok": result.chain_ok,
            },
        )
        return result

    def verify_evidence(self, location: str) -> BundleCheck:
        """Verify the evidence bundle at ``location`` (directory or ``s3://``) with nothing but its files."""
        from finsight_release.audit.export import verify_bundle

        return verify_bundle(self._evidence_store(location, for_writing=False))

    @staticmethod
    def _evidence_store(location: str, for_writing: bool) -> ObjectStore:
        """The store a bundle lives in: S3 (writes need Object Lock) or a local directory."""
        from finsight_release.errors import EvidenceExportError, EvidenceTamperedError

        if location.startswith("s3://"):
            from finsight_release.store.s3 import S3ObjectStore

            store = S3ObjectStore(
                location, endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or None
            )
            if for_writing and not store.object_lock_enabled:
                raise EvidenceExportError(
                    f"bucket {store.bucket} has no Object Lock: evidence must be kept immutable "
                    "90 days (create the bucket with Object Lock enabled)"
                )
            return store
        from finsight_release.store.local import LocalObjectStore

        path = Path(location)
        if for_writing and path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise EvidenceExportError(
                f"{location} exists and is not an empty directory: a bundle is written to a new place"
            )
        if not for_writing and not path.is_dir():
            raise EvidenceTamperedError(f"evidence bundle {location} not found (no such directory)")
        return LocalObjectStore(path)

    def dora(self, emit: bool = False) -> DoraReport:
        """DORA metrics per environment and week from the audit log; with ``emit``, also written as
        EMF records (one per environment and week) to the metric sink."""
        import time

        from finsight_release.observe.dora import dora_emf_records, dora_metrics

        report = dora_metrics(self.audit.events())
        if emit:
            for record in dora_emf_records(report, int(time.time() * 1000)):
                self.metrics.emit(record)
        return report

    def write_release_report(self, out: Path, emit: bool = False) -> DoraReport:
        """Write the self-contained HTML report (timeline, DORA trends, slowest steps) to ``out``,
        atomically; returns the DORA metrics it shows."""
        from datetime import UTC, datetime

        from finsight_release.observe.report import read_step_records, render_report, step_timings

        report = self.dora(emit=emit)
        steps = step_timings(
            read_step_records(None if self.settings.is_aws else self.settings.metrics_path)
        )
        page = render_report(report, steps, datetime.now(UTC))
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(out)
        return report

    def status(self) -> dict[Environment, tuple[EnvPointer, list[EnvPointer]]]:
        """Each environment's pointer and its history."""
        return {env: (self.board.read(env)[0], self.board.history(env)) for env in Environment}

    def doctor_context(self, env: Environment) -> DoctorContext:
        """What the doctor's layers read about ``env``: store, pointers, settings, live dags folder."""
        from finsight_release.diagnose.layers import DoctorContext

        return DoctorContext(
            self.repo, self.board, self.settings, self.airflow_dags_folder(env), env
        )

    def doctor(
        self, env: Environment, progress: Callable[[str], None] | None = None
    ) -> DoctorReport:
        """Probe ``env`` layer by layer (stopping at the first failure, diagnosed) and audit the outcome."""
        from finsight_release.diagnose.doctor import run_doctor

        report = run_doctor(self.doctor_context(env), progress=progress)
        failed_layer = report.failed_layer
        self.audit.append(
            actor=self.settings.actor,
            action="doctor",
            environment=str(env),
            outcome="ok" if report.ok else "failed",
            details={
                "failed_layer": failed_layer.layer if failed_layer else None,
                "category": getattr(report.diagnosis, "category", None),
            },
        )
        return report

    def ingest_drift(self, env: Environment, plan: Path) -> list[DriftEntry]:
        """Record ``plan`` (a ``terraform plan -refresh-only`` as JSON) as ``env``'s latest drift scan.

        A file that is not a plan is refused before anything is written; the copy is atomic and audited.
        """
        from finsight_release.diagnose.detection import drift_plan_path
        from finsight_release.validate.terraform.plan import plan_file_drift

        entries = plan_file_drift(plan)
        dest = drift_plan_path(self.settings.home, env)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        tmp.write_bytes(plan.read_bytes())
        tmp.replace(dest)
        self.audit.append(
            actor=self.settings.actor,
            action="drift",
            environment=str(env),
            outcome="drift" if entries else "clean",
            details={"resources": [e.address for e in entries][:50]},
        )
        if entries:
            self.metrics.emit(event_record(DRIFT_DETECTED, str(env), Resources=len(entries)))
        return entries

    def diagnose(
        self,
        evidence: str,
        step: str | None = None,
        stdin: BinaryIO | None = None,
        run_text: Callable[[str], str] | None = None,
    ) -> Diagnosis:
        """Name the root cause of a failure from ``evidence`` and audit the answer.

        ``evidence`` is ``-`` (read ``stdin``, streamed), a log file, a release id (its failed or refused
        operations in the audit log, with what the release changed against the last good one), or a
        Dagster run id (its failure output, fetched by ``run_text``: the core does not import dagster).
        """
        from finsight_release.diagnose.classifier import (
            DiagnosisContext,
            diagnose_file,
            diagnose_stream,
        )

        if evidence.startswith("r-"):
            failures = [
                e
                for e in self.audit.events(release_id=evidence)
                if e["outcome"] in {"failed", "refused"}
            ]
            if not failures:
                raise FinsightError(
                    f"release {evidence} has no failed or refused operation in the audit log"
                )
            text = "\n".join(
                str(e["details"].get("error") or e["details"].get("reason") or "") for e in failures
            )
            return self.diagnose_failure(text, step, release_id=evidence)
        if RUN_ID.fullmatch(evidence) and run_text is not None and not Path(evidence).is_file():
            return self.diagnose_failure(run_text(evidence), step, source={"run_id": evidence})
        context = DiagnosisContext(failed_step=step)
        if evidence == "-":
            if stdin is None:
                raise FinsightError("diagnose -: no standard input given")
            diagnosis = diagnose_stream(stdin, context)
        elif Path(evidence).is_file():
            diagnosis = diagnose_file(Path(evidence), context)
        else:
            raise FinsightError(
                f"evidence {evidence!r} is neither a file, a Dagster run id, a release id (r-...) nor '-'"
            )
        self._audit_diagnosis(
            diagnosis, step, None, {"evidence_file": evidence}, self.settings.actor
        )
        return diagnosis

    def diagnose_failure(
        self,
        text: str,
        step: str | None,
        release_id: str | None = None,
        source: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> Diagnosis:
        """Diagnose failure output (a run's, a release's failed operations) with what ``release_id`` changed
        against the last good release as evidence; audited with ``source`` (e.g. the run id and job)."""
        from finsight_release.diagnose.classifier import DiagnosisContext, diagnose_text
        from finsight_release.diagnose.release_context import release_evidence

        try:
            release = release_evidence(self, release_id) if release_id else None
        except (
            FinsightError
        ):  # an unreadable store must not cost the diagnosis itself: the text still decides
            release = None
        diagnosis = diagnose_text(text, DiagnosisContext(failed_step=step, release=release))
        self._audit_diagnosis(
            diagnosis, step, release_id, source or {}, actor or self.settings.actor
        )
        self._alert_diagnosis(diagnosis, step, release_id, source or {})
        return diagnosis

    def _alert_diagnosis(
        self, diagnosis: Diagnosis, step: str | None, release_id: str | None, source: dict[str, Any]
    ) -> None:
        """Alert on a diagnosed failure (the run-failure sensor's path): release, layer, diagnosis."""
        from finsight_release.observe.alerts import Alert

        ids = {k: str(v) for k, v in source.items() if k in {"run_id", "job"} and v}
        self.alerts.send(
            Alert(
                title=f"{step or ids.get('job') or 'run'} failed",
                release_id=release_id,
                environment=str(source["environment"]) if source.get("environment") else None,
                layer=str(diagnosis.layer),
                diagnosis=f"{diagnosis.category} (confidence {diagnosis.confidence:.2f})",
                explanation=diagnosis.explanation,
                ids=ids,
            )
        )

    def _audit_diagnosis(
        self,
        diagnosis: Diagnosis,
        step: str | None,
        release_id: str | None,
        source: dict[str, Any],
        actor: str,
    ) -> None:
        self.audit.append(
            actor=actor,
            action="diagnose",
            release_id=release_id,
            outcome=str(diagnosis.category),
            details={
                **source,
                "step": step,
                "confidence": diagnosis.confidence,
                "explanation": diagnosis.explanation,
                "candidates": [str(c.category) for c in diagnosis.candidates],
                "evidence": diagnosis.evidence,
                "next_steps": diagnosis.next_steps,
            },
        )

    def pipeline_view(self) -> PipelineView:
        """What the pipeline's decisions read: releases, pointers, health records, verdicts."""
        from finsight_release.pipeline.next_promotion import PipelineView

        return PipelineView(self.repo, self.board, self.deployer.ledger)

    def decide_promotion(
        self, env: Environment, now: datetime, actor: str, last_reason: str | None = None
    ) -> PromotionDecision:
        """The pipeline's next promotion of ``env`` (``settings.bake_s`` of bake time in the
        environment before); audited when it promotes or its reason differs from ``last_reason``,
        so a sensor ticking every 30 s records each change of mind once."""
        from finsight_release.pipeline.next_promotion import decide

        decision = decide(self.pipeline_view(), env, self.settings.bake_s, now)
        if decision.promote or decision.reason != last_reason:
            self.audit.append(
                actor=actor,
                action="decide",
                release_id=decision.release_id,
                environment=str(env),
                outcome="promote" if decision.promote else "wait",
                details={"reason": decision.reason},
            )
        return decision

    def judge_failed_check(
        self, check: str, attribution: Attribution | None, actor: str
    ) -> Attribution | None:
        """Act on a blocking check that failed: attributed to a release still live, that release is
        marked unhealthy and the attribution (changed asset -> failing asset) audited, and returned so
        the caller rolls the environment back; not attributed, it is audited as an alert only."""
        if attribution is None:
            self.audit.append(
                actor=actor,
                action="alert",
                outcome="unattributed",
                details={"check": check, "reason": "no live change upstream of the failing asset"},
            )
            return None
        change = attribution.change
        if self.board.read(change.env)[0].release_id != change.release_id:
            return None  # already rolled back or moved on
        reason = f"{check} failed: {' -> '.join(attribution.path)}"
        self.deployer.mark_health(change.env, change.release_id, False, reason)
        self.audit.append(
            actor=actor,
            action="attribute",
            release_id=change.release_id,
            environment=str(change.env),
            outcome="rollback",
            details={
                "check": check,
                "path": list(attribution.path),
                "to_release": change.previous_release,
            },
        )
        return attribution

    def pause_of(self, env: Environment) -> PauseRecord | None:
        """What stops ``env``'s pipeline: its own pause or the one of the environment feeding it."""
        from finsight_release.envs.pause import pipeline_pause

        return pipeline_pause(self.repo.store, env)

    def resume(self, env: Environment, reason: str) -> PauseRecord:
        """A person resumes ``env``'s paused pipeline (audited); the release's next judgement starts
        its attempts afresh. FinsightError when ``env`` is not paused (nothing is written)."""
        from finsight_release.envs.pause import PauseRecord, read_pause, write_pause

        pause = read_pause(self.repo.store, env)
        if pause is None:
            raise FinsightError(f"{env} is not paused: nothing to resume")
        if not reason.strip():
            raise FinsightError("resume needs a reason (--reason): it goes to the audit trail")
        if pause.release_id:
            health = self.deployer.ledger.health(env, pause.release_id)
            if health is not None and health.pending:
                self.deployer.mark_health(
                    env, pause.release_id, False, f"resumed: {reason}", pending=True
                )
        cleared = PauseRecord(
            environment=env,
            paused=False,
            release_id=pause.release_id,
            reason=reason,
            actor=self.settings.actor,
        )
        write_pause(self.repo.store, cleared)
        self.audit.append(
            actor=self.settings.actor,
            action="resume",
            release_id=pause.release_id,
            environment=str(env),
            outcome="resumed",
            details={"reason": reason, "paused_for": pause.reason},
        )
        return cleared

    def prune_audit(
        self,
        retention_days: int = 90,
        archive: str | None = None,
        now: datetime | None = None,
        dry_run: bool = False,
    ) -> PruneResult:
        """Remove the audit events older than ``retention_days`` (at least 90) after exporting them as
        an evidence bundle under ``archive`` (a directory or ``s3://`` on an Object Lock bucket;
        default ``$FINSIGHT_AUDIT_ARCHIVE``, else ``$FINSIGHT_HOME/audit-archive``) and anchoring
        them, so the remaining chain still verifies (``audit/prune.py``); audited as ``prune``.
        ``dry_run``: only count what would go."""
        from finsight_release.audit.prune import PruneResult, plan_prune, prune_audit

        plan = plan_prune(self.audit, retention_days, now)
        if dry_run or not plan.count:
            return PruneResult(plan.cutoff, plan.count, dry_run=dry_run)
        base = (
            archive
            or os.environ.get("FINSIGHT_AUDIT_ARCHIVE")
            or str(self.settings.home / "audit-archive")
        )
        location = f"{base.rstrip('/')}/{plan.folder}"
        resumed = not location.startswith("s3://") and Path(location).is_dir()
        dest = self._evidence_store(location, for_writing=not resumed)
        result = prune_audit(self.audit, self.repo.store, dest, plan, self.settings.actor)
        self.audit.append(
            actor=self.settings.actor,
            action="prune",
            outcome="ok",
            details={**result.as_dict(), "retention_days": retention_days},
        )
        return result

    @cached_property
    def spark_targets(self) -> list[SparkJobTarget]:
        """The Spark job target (wheels and job definitions at ``settings.spark_artifacts_url``),
        switched after the warehouse and before the DAG folder, so DAGs that launch a new job version
        go live after it; none when ``FINSIGHT_SPARK_DEPLOY=off`` (the folders then copy Spark jobs)."""
        if not self.settings.spark_deploy:
            return []
        from finsight_release.targets.spark.location import ArtifactLocation
        from finsight_release.targets.spark.target import SparkJobTarget

        location = ArtifactLocation(open_store(self.settings.spark_artifacts_url))
        return [SparkJobTarget(location, self.repo, self.settings.spark_python)]

    def spark_smoke(self, env: Environment, names: list[str] | None = None) -> PublishedSmoke:
        """Smoke-run the published Spark wheels ``env`` launches (artifact names ``names``, default all).

        Audited; a failing run marks the release unhealthy in ``env`` (``Deployer.mark_health``).
        """
        from finsight_release.errors import SparkDeployError

        if not self.spark_targets:
            raise SparkDeployError("spark: Spark deploys are off (FINSIGHT_SPARK_DEPLOY=off)")
        smoke = self.spark_targets[0].smoke_published(env, names)
        self.audit.append(
            actor=self.settings.actor,
            action="spark_smoke",
            release_id=smoke.release_id,
            environment=str(env),
            outcome="healthy" if smoke.healthy else "unhealthy",
            details={"jobs": smoke.jobs},
        )
        if not smoke.healthy and smoke.release_id:
            self.deployer.mark_health(
                env, smoke.release_id, False, f"spark: {'; '.join(smoke.problems())}"
            )
        return smoke

    @cached_property
    def streaming_target(self) -> StreamingTarget:
        """Topics: schemas into the environment's registry and consumer services rolled out, in the
        order each topic's compatibility mode requires (``targets/streaming``)."""
        from finsight_release.targets.streaming.configuration import streaming_target

        return streaming_target(self.settings)

    def streaming_health(self, env: Environment) -> list[TopicHealth]:
        """What ``env``'s topics run against the release it runs: the live schema version, the
        release's schema against the registry's history, each consumer's version, tasks, lag and last
        event. Audited; a schema not live or a consumer not healthy marks the release unhealthy in
        ``env`` (``Deployer.mark_health``), as the other layers' checks do."""
        from finsight_release.targets.streaming.health import read_streaming_health

        release_id = self.board.read(env)[0].release_id
        if not release_id:
            return []
        topics = read_streaming_health(
            self.streaming_target, env, self.repo.get(release_id), self.repo
        )
        problems = [p for topic in topics for p in topic.rollout_problems]
        self.audit.append(
            actor=self.settings.actor,
            action="streaming_health",
            release_id=release_id,
            environment=str(env),
            outcome="unhealthy" if problems else "healthy",
            details={"topics": [t.topic for t in topics], "problems": problems},
        )
        if problems:
            self.deployer.mark_health(env, release_id, False, f"streaming: {'; '.join(problems)}")
        return topics

    def data_diffs(
        self, release_id: str, envs: list[Environment] | None = None
    ) -> list[EnvironmentDiff]:
        """The data diff of each changed model of ``release_id``, as measured when it was prepared in
        each of ``envs`` (default: all) whose warehouse holds one (DuckDB, or in AWS mode the
        environment's Snowflake database; one that cannot be reached is logged and left out)."""
        from finsight_release.targets.data_diff import EnvironmentDiff

        found = []
        for env in envs or list(Environment):
            diffs = self.warehouse_target.diffs(env, release_id)
            found += [EnvironmentDiff(environment=str(env), diff=diff) for diff in diffs]
        return found
