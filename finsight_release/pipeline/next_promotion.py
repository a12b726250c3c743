"""Which release an environment should be promoted to next, or why it should wait.

The rules sensors follow (a person's command is never limited by them):
- dev takes the newest built release that passed validation for dev, unless dev already runs it or a
  newer one, or that release was found unhealthy in dev before (it is not re-deployed automatically);
- staging takes what dev runs once it is healthy in dev and has baked there for ``bake_s`` seconds;
- prod is never promoted automatically: approvals and the release window decide, by a person's command.
A busy environment (an operation holds its claim) waits; so does a paused one, and the one after it
(``envs.pause``: checks that stayed inconclusive), until a person resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from finsight_release.envs.environment import Environment
from finsight_release.envs.operation import OperationLedger
from finsight_release.envs.pause import pipeline_pause
from finsight_release.envs.pointer import PointerBoard
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.base import ObjectStore
from finsight_release.validate.record import read_verdict


@dataclass(frozen=True)
class PromotionDecision:
    """Promote ``env`` to ``release_id`` now, or (``release_id`` None) wait, for ``reason``."""

    env: Environment
    release_id: str | None
    reason: str

    @property
    def promote(self) -> bool:
        return self.release_id is not None


@dataclass(frozen=True)
class PipelineView:
    """What the decisions read: releases, pointers, health records and validation verdicts."""

    repo: ReleaseRepository
    board: PointerBoard
    ledger: OperationLedger

    @property
    def store(self) -> ObjectStore:
        return self.repo.store

    def releases_newest_first(self) -> list[ReleaseManifest]:
        """Every built release, newest build first."""
        manifests = [m for m in (self.repo.find(i) for i in self.repo.list_ids()) if m is not None]
        return sorted(manifests, key=lambda m: m.created_at, reverse=True)

    def unhealthy_reason(self, env: Environment, release_id: str) -> str | None:
        """Why ``release_id`` was found unhealthy in ``env`` (None: not found so, or still pending)."""
        health = self.ledger.health(env, release_id)
        return health.reason if health is not None and health.found_unhealthy else None


def decide(view: PipelineView, env: Environment, bake_s: float, now: datetime) -> PromotionDecision:
    """The next promotion of ``env`` by the pipeline's rules (module docstring)."""
    pointer, _ = view.board.read(env)
    if pointer.pending:
        return PromotionDecision(env, None, f"{env} is busy ({pointer.pending})")
    if (pause := pipeline_pause(view.store, env)) is not None:
        return PromotionDecision(
            env,
            None,
            f"{pause.environment} is paused for a person ({pause.reason}); "
            f"`finsight-release resume {pause.environment}` resumes it",
        )
    if env is Environment.PROD:
        return PromotionDecision(
            env, None, "prod is promoted by a person's command (approvals, window)"
        )
    if env is Environment.DEV:
        return _decide_dev(view, pointer.release_id)
    return _decide_after_bake(view, env, pointer.release_id, bake_s, now)


def _decide_dev(view: PipelineView, current: str | None) -> PromotionDecision:
    env = Environment.DEV
    releases = view.releases_newest_first()
    newest = next(
        (m for m in releases if (v := read_verdict(view.store, m.release_id, env)) and v.passed),
        None,
    )
    if newest is None:
        return PromotionDecision(env, None, "no release has passed validation for dev")
    if newest.release_id == current:
        return PromotionDecision(env, None, f"dev runs the newest validated release {current}")
    running = next((m for m in releases if m.release_id == current), None)
    if running is not None and running.created_at > newest.created_at:
        return PromotionDecision(env, None, f"dev runs {current}, newer than {newest.release_id}")
    if (why := view.unhealthy_reason(env, newest.release_id)) is not None:
        return PromotionDecision(env, None, f"{newest.release_id} was unhealthy in dev: {why}")
    return PromotionDecision(
        env, newest.release_id, f"{newest.release_id} passed validation for dev"
    )


def _decide_after_bake(
    view: PipelineView, env: Environment, current: str | None, bake_s: float, now: datetime
) -> PromotionDecision:
    upstream = env.upstream
    assert upstream is not None  # only staging gets here
    up_pointer, _ = view.board.read(upstream)
    candidate = up_pointer.release_id
    if candidate is None:
        return PromotionDecision(env, None, f"{upstream} runs no release")
    if candidate == current:
        return PromotionDecision(env, None, f"{env} runs what {upstream} runs ({candidate})")
    health = view.ledger.health(upstream, candidate)
    if health is None or not health.healthy:
        why = health.reason if health else "no verdict yet"
        return PromotionDecision(env, None, f"{candidate} is not healthy in {upstream}: {why}")
    baked_at = up_pointer.updated_at + timedelta(seconds=bake_s)
    if now < baked_at:
        return PromotionDecision(
            env, None, f"{candidate} bakes in {upstream} until {baked_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    if (bad := view.unhealthy_reason(env, candidate)) is not None:
        return PromotionDecision(env, None, f"{candidate} was unhealthy in {env}: {bad}")
    return PromotionDecision(env, candidate, f"{candidate} healthy in {upstream} for {bake_s:.0f}s")
