"""Retention: each environment keeps the relations of its last N releases; rollback outside that
window is refused; the janitor drops the rest and never what any environment points at."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from finsight_release.cli import main
from finsight_release.envs.environment import Environment
from finsight_release.envs.pointer import EnvPointer
from finsight_release.envs.retention import retained_releases
from finsight_release.errors import PromotionRefusedError
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA
from tests.envs.release_world import MINI_DBT
from tests.mini_platform import make_platform

DEV, STAGING, PROD = Environment.DEV, Environment.STAGING, Environment.PROD


def history(*releases: str) -> list[EnvPointer]:
    return [EnvPointer(environment=DEV, release_id=r, seq=i + 1) for i, r in enumerate(releases)]


def test_the_window_is_the_last_n_distinct_releases_newest_first() -> None:
    assert retained_releases(history("r-1", "r-2", "r-1", "r-3"), 2) == ["r-3", "r-1"]
    assert retained_releases(history("r-1", "r-2", "r-1", "r-3"), 5) == ["r-3", "r-1", "r-2"]


def version(n: int) -> dict[str, str]:
    return {
        **MINI_DBT,
        "dbt_project/models/fct_accounts.sql": (
            f"select account_id, {n} as version from {{{{ ref('stg_accounts') }}}}\n"
        ),
    }


def physical(system: ReleaseSystem, env: Environment) -> set[str]:
    with duckdb.connect(str(system.warehouse_target.database(env)), read_only=True) as con:
        rows = con.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [PHYSICAL_SCHEMA],
        ).fetchall()
    return {name for (name,) in rows}


def fct_relation(system: ReleaseSystem, release_id: str, env: Environment) -> str:
    dbt = system.repo.get(release_id).artifact("dbt/project")
    assert dbt is not None
    plan = system.warehouse_target.plan(env, dbt, system.repo)
    return plan.by_id()["model.mini.fct_accounts"].physical_name


@pytest.fixture(scope="module")
def three_envs(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReleaseSystem, list[str]]:
    """dev ran v1..v4 (runs v4), staging v1 then v3, prod v1 then v2; keep one release each."""
    root = tmp_path_factory.mktemp("retention")
    settings = load_settings(
        home=root / "home", actor="tester", require_validation=(), retain_releases=1
    )
    system = ReleaseSystem(settings)
    releases = [
        system.build(make_platform(root / f"p{n}", version(n)))[0].release_id for n in range(1, 5)
    ]
    for release_id in releases:
        system.deployer.promote(DEV, release_id)
    for env, later in ((STAGING, releases[2]), (PROD, releases[1])):
        for release_id in (releases[0], later):
            system.deployer.promote(env, release_id, override_reason="retention test")
    return system, releases


def test_rollback_outside_the_window_is_refused_with_the_window_named(
    three_envs: tuple[ReleaseSystem, list[str]],
) -> None:
    system, (v1, v2, v3, v4) = three_envs
    with pytest.raises(PromotionRefusedError, match="outside dev's retention window") as info:
        system.deployer.rollback(DEV)
    assert v4 in str(info.value) and f"promote {v3} instead" in str(info.value)
    assert system.board.read(DEV)[0].release_id == v4 and not system.board.read(DEV)[0].pending


def test_janitor_keeps_what_any_environment_points_at_and_drops_the_rest(
    three_envs: tuple[ReleaseSystem, list[str]],
) -> None:
    system, (v1, v2, v3, v4) = three_envs
    before = {env: physical(system, env) for env in (DEV, STAGING, PROD)}
    assert fct_relation(system, v1, DEV) in before[DEV]
    dry = system.janitor(dry_run=True)
    assert physical(system, DEV) == before[DEV]  # a dry run drops nothing
    reports = {r.environment: r for r in system.janitor()}
    assert [r.dropped for r in dry] == [reports[e].dropped for e in (DEV, STAGING, PROD)]
    # dev's window is v4 alone, but staging runs v3 and prod v2: their relations stay in dev's
    # warehouse too; v1 is nobody's, so its own relation goes everywhere.
    assert fct_relation(system, v1, DEV) in reports[DEV].dropped
    for kept in (v2, v3, v4):
        assert fct_relation(system, kept, DEV) in physical(system, DEV)
    for env, live in ((STAGING, v3), (PROD, v2)):
        assert reports[env].dropped == [fct_relation(system, v1, env)]
        assert fct_relation(system, live, env) in physical(system, env)
    for env, live in ((DEV, v4), (STAGING, v3), (PROD, v2)):
        manifest = system.repo.get(live)
        dbt = manifest.artifact("dbt/project")
        assert dbt is not None
        assert system.warehouse_target.verify(env, manifest, [dbt]) == []
    events = system.audit.events(action="janitor")
    assert events and events[0]["details"]["dropped"]["dev"] == reports[DEV].dropped


def test_rollback_inside_a_wider_window_switches_back_without_a_build(
    three_envs: tuple[ReleaseSystem, list[str]], tmp_path: Path
) -> None:
    system, (v1, v2, v3, v4) = three_envs
    wider = ReleaseSystem(system.settings.model_copy(update={"retain_releases": 2}))
    record = wider.deployer.rollback(DEV)
    assert record.to_release == v3 and wider.warehouse_target.built_models == 0


def test_janitor_command_prints_a_table_and_a_bad_setting_is_one_line(
    three_envs: tuple[ReleaseSystem, list[str]],
) -> None:
    system, _ = three_envs
    env = {"FINSIGHT_HOME": str(system.settings.home), "FINSIGHT_REQUIRE_VALIDATION": ""}
    result = CliRunner().invoke(main, ["janitor", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    assert "would drop" in result.output and "staging" in result.output
    bad = CliRunner().invoke(main, ["janitor"], env={**env, "FINSIGHT_RETAIN_RELEASES": "0"})
    assert bad.exit_code == 1
    assert "FINSIGHT_RETAIN_RELEASES must be a positive whole number, got '0'" in str(bad.exception)
