"""Health from evidence: what a judgement of a release's post-deploy checks makes of its health.

The pass / fail / inconclusive model of Argo Rollouts analysis. A deploy leaves the release
*pending* in the environment (``Deployer._mark_live``); only its checks decide:

- passed: every blocking check passed -> healthy (the promotion order and the staging sensor may
  take it on once it has baked);
- failed: a blocking check failed -> unhealthy, the failing checks as the reason (the rollback sensor
  and the order gate act on it);
- inconclusive: a check errored or its data is late -> still pending, the attempt counted; after
  ``attempts_allowed`` inconclusive judgements in a row the environment's pipeline is paused for a
  person (:mod:`finsight_release.envs.pause`).

A release already found healthy stays healthy through a later inconclusive judgement (a late load
the next morning is not a verdict on the release); a later blocking failure still marks it unhealthy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from finsight_release.envs.environment import Environment
from finsight_release.envs.pause import PauseRecord, write_pause

if TYPE_CHECKING:
    from finsight_release.checks.judge import ReleaseJudgement
    from finsight_release.envs.promotion import AuditSink, Deployer

LISTED = 6


def _listed(results: list[str]) -> str:
    return "; ".join(results[:LISTED]) + (" ..." if len(results) > LISTED else "")


def settle(
    judgement: ReleaseJudgement,
    deployer: Deployer,
    audit: AuditSink,
    actor: str,
    attempts_allowed: int,
) -> None:
    """Record ``judgement``'s verdict as the release's health; pause the pipeline when it stays
    inconclusive ``attempts_allowed`` times."""
    env = Environment.parse(judgement.environment)
    release = judgement.release_id
    verdict = judgement.verdict
    if verdict == "passed":
        deployer.mark_health(
            env, release, True, f"{len(judgement.results)} post-deploy checks passed"
        )
        return
    if verdict == "failed":
        failing = [f"{r.kind} {r.asset} {r.name}" for r in judgement.blocking]
        deployer.mark_health(env, release, False, f"blocking checks failed: {_listed(failing)}")
        return
    previous = deployer.ledger.health(env, release)
    if previous is not None and previous.healthy:
        return  # found healthy already: a late load is no verdict on the release (audited above)
    attempts = previous.attempts + 1 if previous is not None and previous.pending else 1
    unsure = _listed([f"{r.kind} {r.asset} {r.name}: {r.detail}" for r in judgement.inconclusive])
    reason = f"inconclusive ({attempts} of {attempts_allowed}): {unsure}"
    deployer.mark_health(env, release, False, reason, pending=True, attempts=attempts)
    if attempts >= attempts_allowed:
        write_pause(
            deployer.repo.store,
            PauseRecord(
                environment=env, paused=True, release_id=release, reason=reason, actor=actor
            ),
        )
        audit.append(
            actor=actor,
            action="pause",
            release_id=release,
            environment=str(env),
            outcome="paused",
            details={"reason": reason, "attempts": attempts},
        )
