"""Whether an environment runs the newest release that passed the environment before it.

dev is compared with the newest built release that passed validation for dev; staging and prod with
what the previous environment runs, once it is healthy there. Being behind is information (a release
waiting for its bake time, approvals or the window), not a failure.
"""

from __future__ import annotations

from finsight_release.envs.environment import Environment
from finsight_release.pipeline.next_promotion import PipelineView
from finsight_release.validate.record import read_verdict


def newest_passed_upstream(view: PipelineView, env: Environment) -> str | None:
    """The newest release that passed what comes before ``env`` (validation for dev)."""
    upstream = env.upstream
    if upstream is None:
        return next(
            (
                m.release_id
                for m in view.releases_newest_first()
                if (v := read_verdict(view.store, m.release_id, env)) and v.passed
            ),
            None,
        )
    release_id = view.board.read(upstream)[0].release_id
    health = view.ledger.health(upstream, release_id) if release_id else None
    return release_id if health is not None and health.healthy else None


def behind(view: PipelineView, env: Environment) -> str | None:
    """Why ``env`` is behind (it does not run the newest release that passed before it), or None."""
    newest = newest_passed_upstream(view, env)
    current = view.board.read(env)[0].release_id
    if newest is None or newest == current:
        return None
    before = f"{env.upstream}" if env.upstream else "validation"
    return f"{env} runs {current or 'nothing'}; {newest} passed {before} and is not live here"
