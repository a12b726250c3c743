"""What ran where at a past instant: from the pointer history and the go-live audit events."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsight_release.cli import main
from finsight_release.envs.as_of import RETENTION, parse_instant, ran_at
from finsight_release.envs.environment import Environment
from finsight_release.envs.pointer import EnvPointer
from finsight_release.errors import InstantOutOfRangeError
from tests.mini_platform import make_platform

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _entry(seq: int, release: str, at: datetime, op: str = "promote") -> EnvPointer:
    return EnvPointer(
        environment=Environment.PROD,
        release_id=release,
        seq=seq,
        operation=op,
        operation_id=f"{op}-prod-{seq}",
        actor=f"user{seq}",
        updated_at=at,
    )


def test_the_entry_in_force_at_an_instant_and_its_evidence() -> None:
    t1, t2, t3 = (NOW - timedelta(hours=h) for h in (30, 20, 10))
    history = [_entry(1, "r-a", t1), _entry(2, "r-b", t2), _entry(3, "r-a", t3, "rollback")]
    events = [
        {
            "seq": 10 + i,
            "hash": f"{i}" * 64,
            "ts": e.updated_at.isoformat(),
            "action": e.operation,
            "actor": e.actor,
            "release_id": e.release_id,
            "digests": {"dags": f"d{i}"},
            "details": {"operation_id": e.operation_id},
        }
        for i, e in enumerate(history)
    ]
    assert ran_at(Environment.PROD, t1 - timedelta(seconds=1), history, events).release_id is None
    exact = ran_at(Environment.PROD, t1, history, events)
    assert (exact.release_id, exact.actor, exact.digests) == ("r-a", "user1", {"dags": "d0"})
    between = ran_at(Environment.PROD, t2 + timedelta(minutes=5), history, events)
    assert between.release_id == "r-b" and between.since == t2 and between.evidence
    assert between.evidence["seq"] == 11
    after = ran_at(Environment.PROD, NOW, history, events)
    assert (after.release_id, after.operation, after.evidence["action"]) == (
        "r-a",
        "rollback",
        "rollback",
    )
    unaudited = ran_at(Environment.PROD, NOW, history, [], {"r-a": {"dags": "x"}})
    assert unaudited.digests == {"dags": "x"} and unaudited.evidence is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("yesterday", "not ISO 8601"),
        ("2026-11-21T12:00:01Z", "in the future"),
        (
            (NOW - RETENTION - timedelta(minutes=1)).isoformat(),
            "before the 90-day retention window",
        ),
    ],
)
def test_bad_instants_are_refused(text: str, problem: str) -> None:
    with pytest.raises(InstantOutOfRangeError, match=problem):
        parse_instant(text, NOW)


def test_naive_and_zoned_instants_are_utc() -> None:
    assert parse_instant("2026-11-20T01:30:00", NOW) == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert parse_instant("2026-11-20T02:30:00+01:00", NOW) == datetime(
        2026, 11, 20, 1, 30, tzinfo=UTC
    )


def test_as_of_command_across_promotions_and_a_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINSIGHT_ACTOR", "alice")
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    cli = CliRunner()

    def build(name: str, dag: str) -> str:
        tree = make_platform(
            tmp_path / name,
            {"release_assets/airflow/dags/ingest_core.py": dag},
            without="dbt_project",
        )
        out = cli.invoke(main, ["build", "--platform", str(tree)]).output
        return next(w for w in out.split() if w.startswith("r-"))

    def stamp() -> str:
        time.sleep(0.01)
        moment = datetime.now(UTC).isoformat()
        time.sleep(0.01)
        return moment

    before = stamp()
    v1 = build("p1", "# v1\n")
    for env in ("dev", "staging", "prod"):
        done = cli.invoke(main, ["promote", env, v1])
        assert done.exit_code == 0, done.output
        assert cli.invoke(main, ["checks", env]).exit_code == 0
    on_v1 = stamp()
    v2 = build("p2", "# v2\n")
    for env in ("dev", "staging", "prod"):
        assert cli.invoke(main, ["promote", env, v2]).exit_code == 0
        assert cli.invoke(main, ["checks", env]).exit_code == 0
    on_v2 = stamp()
    assert cli.invoke(main, ["rollback", "prod"]).exit_code == 0
    rolled = stamp()

    def prod_at(moment: str) -> dict[str, object]:
        result = cli.invoke(main, ["as-of", moment, "--env", "prod", "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)[0]

    assert prod_at(before)["release_id"] is None
    first, second, back = prod_at(on_v1), prod_at(on_v2), prod_at(rolled)
    assert (first["release_id"], first["operation"], first["actor"]) == (v1, "promote", "alice")
    assert (second["release_id"], back["release_id"], back["operation"]) == (v2, v1, "rollback")
    assert first["digests"] and first["digests"] != second["digests"]
    assert first["evidence"]["action"] == "promote" and back["evidence"]["action"] == "rollback"
    table = cli.invoke(main, ["as-of", on_v2])
    assert table.exit_code == 0 and all(env in table.output for env in ("dev", "staging", "prod"))
    via_status = cli.invoke(main, ["status", "--as-of", on_v1])
    assert via_status.exit_code == 0 and v1 in via_status.output and v2 not in via_status.output
    future = cli.invoke(main, ["as-of", "2999-01-01T00:00:00Z"])
    assert future.exit_code == 1 and "in the future" in future.output
    bad_env = cli.invoke(main, ["as-of", on_v1, "--env", "qa"])
    assert bad_env.exit_code == 1 and "unknown environment 'qa'" in bad_env.output
