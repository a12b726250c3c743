"""Judge the release an environment publishes: dbt tests, Soda contracts, source freshness.

:func:`run_release_checks` runs all three against what ``env``'s published layer serves and returns
results that each carry that release's id; :func:`judge_release` also audits them and records the
verdict as the release's health in ``env`` (:mod:`finsight_release.checks.health`: passed -> healthy,
a blocking failure -> unhealthy, inconclusive -> judged again, then the pipeline pauses), which the
promotion order and the automation (a rollback) act on.

- dbt tests: every test of the release, run with ``dbt test`` on its physical relations; a test of
  severity ``error`` that fails blocks, one of severity ``warn`` warns, one that errors (could not
  run) is inconclusive.
- contracts: :mod:`finsight_release.checks.soda_contracts` (a contract that cannot run is
  inconclusive).
- freshness: each source table with a ``loaded_at_field`` and an SLA in the dbt sources
  (``warn_after`` / ``error_after``): its newest load older than ``error_after`` is late data, so
  inconclusive (the load may still arrive), older than ``warn_after`` warns, an empty table blocks.

All three run against the environment's own warehouse: DuckDB here, and for an environment on
Snowflake (AWS mode) the same checks in Snowflake SQL through the connector
(:mod:`finsight_release.checks.snowflake_checks`), with results of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from finsight_release.checks.results import CheckResult, Severity, Verdict
from finsight_release.checks.soda_contracts import verify_contracts
from finsight_release.envs.environment import Environment
from finsight_release.targets.dbt_overlay import SelectionFailed, build_selection
from finsight_release.targets.environment_models import environment_models
from finsight_release.targets.model_plan import ModelPlan, SourceTable, physical_vars

if TYPE_CHECKING:
    from finsight_release.envs.promotion import AuditSink, Deployer
    from finsight_release.targets.warehouse import DuckDbWarehouseTarget


@dataclass
class ReleaseJudgement:
    """Every check result on the release ``release_id`` publishes in ``environment``."""

    environment: str
    release_id: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def blocking(self) -> list[CheckResult]:
        return [r for r in self.results if r.blocks]

    @property
    def inconclusive(self) -> list[CheckResult]:
        return [r for r in self.results if r.inconclusive]

    @property
    def verdict(self) -> Verdict:
        """failed (a blocking check failed), inconclusive (one could not decide), else passed."""
        if self.blocking:
            return "failed"
        return "inconclusive" if self.inconclusive else "passed"

    @property
    def healthy(self) -> bool:
        return self.verdict == "passed"

    def summary(self) -> str:
        failed = [r for r in self.results if not r.passed]
        head = f"{len(self.results)} checks on {self.release_id} in {self.environment}: "
        if not failed:
            return head + "all passed"
        unsure = len(self.inconclusive)
        return (
            head
            + f"{len(self.blocking)} blocking, {unsure} inconclusive, "
            + f"{len(failed) - len(self.blocking) - unsure} warning: "
            + "; ".join(f"{r.asset} {r.name}" for r in failed[:6])
            + (" ..." if len(failed) > 6 else "")
        )


def run_release_checks(
    target: DuckDbWarehouseTarget, env: Environment, now: datetime | None = None
) -> ReleaseJudgement:
    """Run dbt tests, contracts and freshness against ``env``'s published release, in the
    environment's own warehouse (a Snowflake environment's: :mod:`~finsight_release.checks.
    snowflake_checks`)."""
    from finsight_release.targets.warehouse_by_environment import WarehouseByEnvironment

    if isinstance(target, WarehouseByEnvironment) and target.snowflake.serves(env):
        from finsight_release.checks.snowflake_checks import snowflake_release_checks

        return snowflake_release_checks(target.snowflake, env, now)
    deployed = environment_models(target, env)
    db, plan, project, release_id = (
        deployed.database,
        deployed.plan,
        deployed.project,
        deployed.release_id,
    )
    judgement = ReleaseJudgement(str(env), release_id)
    judgement.results += dbt_test_results(project, db, plan, release_id, str(env))
    judgement.results += verify_contracts(project, db, release_id, str(env))
    with target.connect(db, read_only=True) as con:
        judgement.results += freshness_results(con, plan, release_id, str(env), now)
    return judgement


def judge_release(
    target: DuckDbWarehouseTarget,
    deployer: Deployer,
    audit: AuditSink,
    actor: str,
    env: Environment,
    now: datetime | None = None,
    attempts_allowed: int = 3,
) -> ReleaseJudgement:
    """Run the checks, audit them, and record the verdict as the release's health in ``env``."""
    judgement = run_release_checks(target, env, now)
    record_judgement(judgement, deployer, audit, actor, attempts_allowed)
    return judgement


def record_judgement(
    judgement: ReleaseJudgement,
    deployer: Deployer,
    audit: AuditSink,
    actor: str,
    attempts_allowed: int,
) -> None:
    """Audit ``judgement`` and settle the release's health from it (:func:`health.settle`)."""
    from finsight_release.checks.health import settle

    audit.append(
        actor=actor,
        action="checks",
        release_id=judgement.release_id,
        environment=judgement.environment,
        outcome=judgement.verdict,
        details={
            "summary": judgement.summary(),
            "counts": {
                "total": len(judgement.results),
                "failed": sum(not r.passed for r in judgement.results),
                "blocking": len(judgement.blocking),
                "inconclusive": len(judgement.inconclusive),
            },
            "blocking": [r.line() for r in judgement.blocking[:20]],
            "inconclusive": [r.line() for r in judgement.inconclusive[:20]],
        },
    )
    settle(judgement, deployer, audit, actor, attempts_allowed)


def dbt_test_results(
    project: Path, db: Path, plan: ModelPlan, release_id: str, env: str
) -> list[CheckResult]:
    """Every dbt test of ``plan``, run on its physical relations (``dbt test``)."""
    if not plan.tests:
        return []
    from finsight_release.targets.warehouse import PUBLISHED_SCHEMA

    try:
        outcome = build_selection(
            project, db, PUBLISHED_SCHEMA, physical_vars(plan), ["fqn:*"], command="test"
        )
    except SelectionFailed as exc:
        outcome = exc.outcome
    models = plan.by_id()
    results = []
    for test in plan.tests:
        status = outcome.statuses.get(test.unique_id)
        if status is None:
            continue
        parent = next((models[p] for p in test.depends_on if p in models), None)
        asset = f"{parent.published_schema}.{parent.published_name}" if parent else test.name
        results.append(
            CheckResult(
                name=test.name,
                kind="dbt_test",
                asset=asset,
                severity="warn" if status == "warn" else "blocking",
                passed=status == "pass",
                detail="" if status == "pass" else outcome.messages.get(test.unique_id, status),
                release_id=release_id,
                environment=env,
                inconclusive=status not in {"pass", "warn", "fail"},  # errored or skipped
            )
        )
    return results


class SourceUnreadable(Exception):
    """A source table's newest load could not be read (its message says why)."""


# Reads a source table's newest load (None: no rows), or raises SourceUnreadable.
NewestLoad = Callable[[SourceTable], datetime | None]


def freshness_results(
    con: duckdb.DuckDBPyConnection,
    plan: ModelPlan,
    release_id: str,
    env: str,
    now: datetime | None = None,
) -> list[CheckResult]:
    """Each source table's newest load in a DuckDB warehouse against its SLA (``now``: the clock)."""

    def newest(source: SourceTable) -> datetime | None:
        try:
            row = con.execute(
                f"select max({source.loaded_at_field}) "  # an expression, as dbt takes it
                f'from "{source.schema_name}"."{source.identifier}"'
            ).fetchone()
        except duckdb.Error as exc:
            raise SourceUnreadable(str(exc).splitlines()[0]) from exc
        return row[0] if row else None

    return freshness_from(newest, plan, release_id, env, now)


def freshness_from(
    newest: NewestLoad,
    plan: ModelPlan,
    release_id: str,
    env: str,
    now: datetime | None = None,
) -> list[CheckResult]:
    """Each source table's newest load, as ``newest`` reads it in the environment's warehouse,
    against its SLA (``now``: the clock, UTC)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    results = []
    for source in plan.sources:
        if not source.loaded_at_field or not (source.warn_after_hours or source.error_after_hours):
            continue
        severity, passed, detail, inconclusive = _freshness(newest, source, moment)
        results.append(
            CheckResult(
                name="freshness",
                kind="freshness",
                asset=f"{source.schema_name}.{source.identifier}",
                severity=severity,
                passed=passed,
                detail=detail,
                release_id=release_id,
                environment=env,
                inconclusive=inconclusive,
            )
        )
    return results


def _freshness(
    newest_load: NewestLoad, source: SourceTable, moment: datetime
) -> tuple[Severity, bool, str, bool]:
    """(severity, passed, detail, inconclusive) of one source table's freshness at ``moment``."""
    try:
        newest = newest_load(source)
    except SourceUnreadable as exc:
        return "blocking", False, str(exc), True
    if newest is None:
        return "blocking", False, "no rows loaded", False
    if newest.tzinfo is not None:
        newest = newest.astimezone(UTC).replace(tzinfo=None)
    age = (moment - newest).total_seconds() / 3600
    detail = f"newest load {newest:%Y-%m-%d %H:%M}, {age:.1f} h old"
    if source.error_after_hours is not None and age > source.error_after_hours:
        return (
            "blocking",
            False,
            f"late: {detail} (error after {source.error_after_hours:g} h)",
            True,
        )
    if source.warn_after_hours is not None and age > source.warn_after_hours:
        return "warn", False, f"{detail} (warn after {source.warn_after_hours:g} h)", False
    return "blocking", True, detail, False


__all__: Sequence[str] = (
    "ReleaseJudgement",
    "SourceUnreadable",
    "freshness_from",
    "judge_release",
    "record_judgement",
    "run_release_checks",
)
