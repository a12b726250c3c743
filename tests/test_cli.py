"""The CLI end to end on a small platform tree: build, promote, status, rollback, audit verify, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from finsight_release.cli import main
from tests.mini_platform import make_platform


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINSIGHT_ACTOR", "alice")
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")  # the validation gate is tested below
    return CliRunner()


def release_id(output: str) -> str:
    return next(word for word in output.split() if word.startswith("r-"))


def test_build_promote_status_rollback_verify(cli: CliRunner, tmp_path: Path) -> None:
    p1 = make_platform(tmp_path / "p1", without="dbt_project")
    built = cli.invoke(main, ["build", "--platform", str(p1)])
    assert built.exit_code == 0, built.output
    v1 = release_id(built.output)
    again = cli.invoke(main, ["build", "--platform", str(p1)])
    assert "unchanged" in again.output and release_id(again.output) == v1
    for env in ("dev", "staging", "prod"):
        result = cli.invoke(main, ["promote", env, v1])
        assert result.exit_code == 0 and "live" in result.output, result.output
        judged = cli.invoke(main, ["checks", env])  # health comes from the post-deploy checks
        assert judged.exit_code == 0 and "passed" in judged.output, judged.output
    p2 = make_platform(
        tmp_path / "p2",
        {"release_assets/airflow/dags/ingest_core.py": "# v2\n"},
        without="dbt_project",
    )
    built2 = cli.invoke(main, ["build", "--platform", str(p2)])
    assert "dag_only" in built2.output
    v2 = release_id(built2.output)
    for env in ("dev", "staging", "prod"):
        assert cli.invoke(main, ["promote", env, v2]).exit_code == 0
        assert cli.invoke(main, ["checks", env]).exit_code == 0
    rolled = cli.invoke(main, ["rollback", "prod"])
    assert rolled.exit_code == 0 and v1 in rolled.output
    status = cli.invoke(main, ["status"])
    assert status.exit_code == 0 and v1 in status.output and v2 in status.output
    verified = cli.invoke(main, ["audit", "verify"])
    assert verified.exit_code == 0 and "audit chain ok" in verified.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["promote", "qa", "r-1"], "unknown environment 'qa'"),
        (["promote", "dev", "r-missing"], "unknown release 'r-missing'"),
        (["rollback", "prod"], "no earlier release"),
        (["build", "--platform", "/nonexistent/tree"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(cli: CliRunner, args: list[str], message: str) -> None:
    result = cli.invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_prod_order_enforced_from_cli(cli: CliRunner, tmp_path: Path) -> None:
    v1 = release_id(
        cli.invoke(
            main, ["build", "--platform", str(make_platform(tmp_path / "p", without="dbt"))]
        ).output
    )
    refused = cli.invoke(main, ["promote", "prod", v1])
    assert refused.exit_code != 0 and "not live in staging" in refused.output
    forced = cli.invoke(main, ["promote", "prod", v1, "--emergency-override", "INC-1 outage fix"])
    assert forced.exit_code == 0, forced.output


def test_prod_requires_a_passing_validation(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "prod")
    platform = make_platform(tmp_path / "p", without="dbt")
    v1 = release_id(cli.invoke(main, ["build", "--platform", str(platform)]).output)
    for env in ("dev", "staging"):
        assert cli.invoke(main, ["promote", env, v1]).exit_code == 0
        assert cli.invoke(main, ["checks", env]).exit_code == 0
    refused = cli.invoke(main, ["promote", "prod", v1])
    assert refused.exit_code != 0 and "never validated for prod" in refused.output
