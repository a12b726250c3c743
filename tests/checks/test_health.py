"""Health from evidence: a deploy leaves a release pending; passing checks make it healthy, a
blocking failure unhealthy, and inconclusive judgements are counted until the pipeline pauses for a
person, who resumes it (``finsight-release resume``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsight_release.checks.health import settle
from finsight_release.checks.judge import ReleaseJudgement
from finsight_release.checks.results import CheckResult
from finsight_release.cli import main
from finsight_release.envs.environment import Environment
from finsight_release.errors import FinsightError, PromotionRefusedError
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from tests.mini_platform import make_platform

DEV, STAGING = Environment.DEV, Environment.STAGING


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReleaseSystem:
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    monkeypatch.setenv("FINSIGHT_ACTOR", "tester")
    return ReleaseSystem(load_settings(check_attempts=2, bake_s=0.0))


def live_in_dev(system: ReleaseSystem, tmp_path: Path) -> str:
    manifest, _ = system.build(make_platform(tmp_path / "p", without="dbt_project"))
    system.promote(DEV, manifest.release_id)
    return manifest.release_id


def judgement(release: str, *results: tuple[str, bool, bool]) -> ReleaseJudgement:
    """A judgement of ``release`` in dev from (asset, passed, inconclusive) triples."""
    return ReleaseJudgement(
        "dev",
        release,
        [
            CheckResult(
                name="row_count",
                kind="contract",
                asset=asset,
                severity="blocking",
                passed=passed,
                inconclusive=inconclusive,
                detail="" if passed else "contract did not run" if inconclusive else "0 rows",
                release_id=release,
                environment="dev",
            )
            for asset, passed, inconclusive in results
        ],
    )


def test_live_is_pending_until_the_checks_pass(system: ReleaseSystem, tmp_path: Path) -> None:
    release = live_in_dev(system, tmp_path)
    health = system.deployer.ledger.health(DEV, release)
    assert health is not None and health.pending and not health.healthy
    with pytest.raises(PromotionRefusedError, match="awaiting its post-deploy checks"):
        system.promote(STAGING, release)
    judged = system.judge(DEV)  # no dbt project: no warehouse check applies, so it passes
    assert judged.verdict == "passed" and judged.results == []
    assert system.deployer.ledger.health(DEV, release).healthy  # type: ignore[union-attr]
    assert system.promote(STAGING, release).to_release == release


def test_a_blocking_failure_marks_it_unhealthy_naming_the_checks(
    system: ReleaseSystem, tmp_path: Path
) -> None:
    release = live_in_dev(system, tmp_path)
    failed = judgement(release, ("analytics.fct_payments", False, False))
    settle(failed, system.deployer, system.audit, "tester", 2)
    health = system.deployer.ledger.health(DEV, release)
    assert health is not None and health.found_unhealthy
    assert health.reason == "blocking checks failed: contract analytics.fct_payments row_count"
    decision = system.decide_promotion(STAGING, datetime.now(UTC), "tester")
    assert not decision.promote and "not healthy in dev: blocking checks failed" in decision.reason


def test_inconclusive_is_judged_again_then_pauses_for_a_person_who_resumes(
    system: ReleaseSystem, tmp_path: Path
) -> None:
    release = live_in_dev(system, tmp_path)
    unsure = judgement(
        release, ("analytics.fct_payments", True, False), ("raw.payments__payments", False, True)
    )
    assert unsure.verdict == "inconclusive" and not unsure.blocking
    settle(unsure, system.deployer, system.audit, "tester", 2)
    first = system.deployer.ledger.health(DEV, release)
    assert first is not None and first.pending and first.attempts == 1
    assert system.pause_of(DEV) is None
    settle(unsure, system.deployer, system.audit, "tester", 2)
    pause = system.pause_of(DEV)
    assert pause is not None and pause.release_id == release and "2 of 2" in pause.reason
    assert system.pause_of(STAGING) == pause  # what dev feeds waits too
    assert [e["outcome"] for e in system.audit.events(environment="dev", action="pause")] == [
        "paused"
    ]
    for env in (DEV, STAGING):
        decision = system.decide_promotion(env, datetime.now(UTC), "sensor")
        assert not decision.promote and "dev is paused for a person" in decision.reason
    cli = CliRunner()
    missing = cli.invoke(main, ["resume", "dev"])
    assert missing.exit_code != 0 and "--reason" in missing.output
    resumed = cli.invoke(main, ["resume", "dev", "--reason", "raw load re-run by hand"])
    assert resumed.exit_code == 0, resumed.output
    assert system.pause_of(DEV) is None
    event = system.audit.events(environment="dev", action="resume")[0]
    assert event["actor"] == "tester" and event["details"]["reason"] == "raw load re-run by hand"
    again = system.deployer.ledger.health(DEV, release)
    assert again is not None and again.pending and again.attempts == 0  # attempts start afresh
    not_paused = cli.invoke(main, ["resume", "dev", "--reason", "x"])
    assert not_paused.exit_code == 1 and "dev is not paused" in not_paused.output


def test_resume_of_an_environment_that_is_not_paused_changes_nothing(
    system: ReleaseSystem,
) -> None:
    with pytest.raises(FinsightError, match="staging is not paused"):
        system.resume(STAGING, "because")
    assert system.audit.events(action="resume") == []
