"""Pruning the audit database: export, anchor, delete; the rest of the chain still verifies.
Runs on SQLite and on a real PostgreSQL (the ``log`` fixture), events stamped in the past with
time-machine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import Engine

from finsight_release.audit.export import verify_bundle
from finsight_release.audit.log import AuditLog, PruneAnchor, prune_anchor_key
from finsight_release.audit.prune import PrunePlan, plan_prune, prune_audit
from finsight_release.audit.verify import verify_chain
from finsight_release.cli import main
from finsight_release.envs.environment import Environment
from finsight_release.errors import AuditLogError
from finsight_release.settings import load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.system import ReleaseSystem
from tests.audit.chain_helpers import fill, tamper
from tests.mini_platform import make_platform

NOW = datetime.now(UTC)
DEV = Environment.DEV


def fill_at(log: AuditLog, days_ago: int, n: int) -> None:
    with time_machine.travel(NOW - timedelta(days=days_ago), tick=True):
        fill(log, n)


def three_old_one_recent(log: AuditLog) -> PrunePlan:
    """Events 1-3 stamped 150 days ago, 4 three days ago; the plan prunes 1-3."""
    fill_at(log, 150, 3)
    fill_at(log, 3, 1)
    return plan_prune(log, 90, NOW)


def seqs(log: AuditLog) -> list[int]:
    return [row[0] for row in log.rows()]


def test_old_events_are_exported_anchored_then_pruned_and_the_rest_verifies(
    log: AuditLog, tmp_path: Path
) -> None:
    fill_at(log, 120, 4)
    fill_at(log, 10, 3)
    plan = plan_prune(log, 90, NOW)
    assert (plan.first_seq, plan.last_seq) == (1, 4)
    archive = LocalObjectStore(tmp_path / "archive" / plan.folder)
    result = prune_audit(log, LocalObjectStore(tmp_path / "store"), archive, plan, "janitor")

    assert result.pruned == 4 and seqs(log) == [5, 6, 7]
    assert result.anchor is not None and result.anchor.first_seq == 5
    bundle = verify_bundle(archive)  # the pruned events, offline, as any evidence bundle
    assert bundle.events == 4 and bundle.last_hash == result.anchor.prev_hash
    chain = verify_chain(log)
    assert chain.ok and chain.checked == 3 and chain.first_seq == 5, chain.message
    assert "earlier events pruned" in chain.message
    fill(
        log, 1
    )  # appends continue past the prune (the head marker never pointed at a pruned event)
    assert verify_chain(log).ok
    assert plan_prune(log, 90, NOW).count == 0  # nothing older left


def test_a_deleted_or_forged_anchor_is_caught(log: AuditLog, tmp_path: Path) -> None:
    fill_at(log, 120, 4)
    fill_at(log, 5, 2)
    plan = plan_prune(log, 90, NOW)
    prune_audit(log, LocalObjectStore(tmp_path / "s"), LocalObjectStore(tmp_path / "a"), plan, "j")
    assert verify_chain(log).ok

    # Someone deletes event 5 and writes a database anchor that starts the log at 6.
    row = next(r for r in log.rows() if r[0] == 5)
    tamper(
        log,
        "delete from audit_events where seq = 5",
        "insert into audit_prune_anchors (first_seq, prev_hash, pruned_before, export, "
        f"manifest_sha256, at) values (6, '{row[11]}', 'x', 'nowhere', 'x', 'x')",
    )
    result = verify_chain(log)
    assert not result.ok and "not the one the anchor store holds" in result.message


def test_an_anchor_removed_from_the_database_leaves_a_gap(log: AuditLog, tmp_path: Path) -> None:
    fill_at(log, 100, 3)
    fill_at(log, 1, 1)
    plan = plan_prune(log, 90, NOW)
    prune_audit(log, LocalObjectStore(tmp_path / "s"), LocalObjectStore(tmp_path / "a"), plan, "j")
    with log.engine.begin() as conn:
        if log.is_sqlite:
            conn.exec_driver_sql("drop trigger audit_prune_anchors_no_delete")
        else:
            conn.exec_driver_sql(
                "alter table audit_prune_anchors disable trigger audit_prune_anchors_no_change"
            )
        conn.exec_driver_sql("delete from audit_prune_anchors")
    result = verify_chain(log)
    assert not result.ok and result.first_bad_seq == 4 and "seq 1 missing" in result.message


def test_retention_under_90_days_and_a_broken_chain_are_refused(
    log: AuditLog, tmp_path: Path
) -> None:
    fill_at(log, 200, 3)
    with pytest.raises(AuditLogError, match="at least 90 days; nothing pruned"):
        plan_prune(log, 30, NOW)
    plan = plan_prune(log, 90, NOW)
    assert (plan.first_seq, plan.last_seq) == (1, 2)  # never the newest event, however old
    tamper(log, "update audit_events set actor = 'mallory' where seq = 2")
    archive = LocalObjectStore(tmp_path / "archive")
    with pytest.raises(
        AuditLogError, match="audit chain broken, nothing pruned: first bad event: seq 2"
    ):
        prune_audit(log, LocalObjectStore(tmp_path / "s"), archive, plan, "j")
    assert seqs(log) == [1, 2, 3] and not archive.list_retained("")


def test_a_prune_stopped_after_its_export_finishes_on_the_next_run(
    log: AuditLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = three_old_one_recent(log)
    archive = LocalObjectStore(tmp_path / "archive")

    def dies(*_args: object) -> int:
        raise AuditLogError("killed between export and delete")

    monkeypatch.setattr(log, "prune", dies)
    with pytest.raises(AuditLogError, match="killed"):
        prune_audit(log, LocalObjectStore(tmp_path / "s"), archive, plan, "j")
    monkeypatch.undo()
    assert seqs(log) == [1, 2, 3, 4] and verify_chain(log).ok
    result = prune_audit(log, LocalObjectStore(tmp_path / "s"), archive, plan, "j")
    assert result.pruned == 3 and verify_chain(log).ok


class CrashBeforeCommit:
    """An engine whose write transactions never start: the process died before the delete."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = engine.url

    def connect(self) -> Any:
        return self.engine.connect()

    def begin(self) -> Any:
        raise RuntimeError("killed before the delete committed")


def test_a_prune_whose_delete_never_ran_still_verifies_and_finishes(
    log: AuditLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The anchor reached the anchor store, the database transaction never ran."""
    plan = three_old_one_recent(log)
    store, archive = LocalObjectStore(tmp_path / "s"), LocalObjectStore(tmp_path / "a")
    monkeypatch.setattr(log, "engine", CrashBeforeCommit(log.engine))
    with pytest.raises(AuditLogError, match="prune failed: killed before the delete"):
        prune_audit(log, store, archive, plan, "j")
    monkeypatch.undo()
    assert log.anchor is not None and log.anchor.get_retained(prune_anchor_key(4)) is not None
    assert seqs(log) == [1, 2, 3, 4] and verify_chain(log).ok  # still whole, from genesis
    result = prune_audit(log, store, archive, plan, "j")
    assert result.pruned == 3 and seqs(log) == [4] and verify_chain(log).ok


def test_an_anchor_that_does_not_fit_is_refused_before_it_is_stored(
    log: AuditLog, tmp_path: Path
) -> None:
    fill_at(log, 150, 3)
    wrong = PruneAnchor(3, "f" * 64, "x", "nowhere", "x", "x")
    with pytest.raises(AuditLogError, match="event 3 does not chain to the prune anchor"):
        log.prune(wrong)
    assert log.anchor is not None and log.anchor.get_retained(prune_anchor_key(3)) is None
    assert seqs(log) == [1, 2, 3]


def test_cli_audit_prune_then_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    for name in (
        "FINSIGHT_STORE_URL",
        "FINSIGHT_AUDIT_URL",
        "FINSIGHT_MODE",
        "FINSIGHT_AUDIT_ARCHIVE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FINSIGHT_HOME", str(home))
    monkeypatch.setenv("FINSIGHT_ACTOR", "auditor")
    log = AuditLog(f"sqlite:///{home / 'audit.db'}", anchor=LocalObjectStore(home / "store"))
    fill_at(log, 95, 5)
    fill_at(log, 2, 2)
    runner = CliRunner()
    dry = runner.invoke(main, ["audit", "prune", "--dry-run"])
    assert dry.exit_code == 0 and "would prune 5 events" in dry.output, dry.output
    refused = runner.invoke(main, ["audit", "prune", "--retention-days", "7"])
    assert refused.exit_code == 1 and "at least 90 days" in refused.output
    done = runner.invoke(main, ["audit", "prune"])
    assert done.exit_code == 0 and "pruned 5 events" in done.output, done.output
    assert "chain now starts at seq 6" in done.output
    (bundle,) = (home / "audit-archive").iterdir()
    assert bundle.name == "audit-000000000001-000000000005"
    verified = runner.invoke(main, ["audit", "verify"])
    assert verified.exit_code == 0 and "events before seq 6 pruned" in verified.output
    assert runner.invoke(main, ["evidence", "verify", str(bundle)]).exit_code == 0
    (event,) = log.events(action="prune")
    assert event["details"]["pruned"] == 5 and event["actor"] == "auditor"


def test_as_of_names_the_prune_bundle_for_a_go_live_it_pruned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dev went live on v1 120 days ago and on v2 10 days ago; after the prune, what dev ran 20
    days ago is v1, evidenced by the bundle its go-live event went to; 5 days ago, v2's event."""
    system = ReleaseSystem(load_settings(home=tmp_path / "home", require_validation=()))
    dags = {"release_assets/airflow/dags/ingest_core.py": "# v2\nDAG_ID = 'ingest_core'\n"}
    with time_machine.travel(NOW - timedelta(days=120), tick=True):
        v1 = system.build(make_platform(tmp_path / "p1", without="dbt"))[0].release_id
        system.promote(DEV, v1)
    with time_machine.travel(NOW - timedelta(days=10), tick=True):
        v2 = system.build(make_platform(tmp_path / "p2", dags, without="dbt"))[0].release_id
        system.promote(DEV, v2)
    result = system.prune_audit(archive=str(tmp_path / "archive"))
    assert result.pruned > 0 and result.export is not None
    (before,) = system.ran_at((NOW - timedelta(days=20)).isoformat(), [DEV])
    assert before.release_id == v1 and before.evidence is not None
    assert before.evidence["pruned_to"] == result.export
    assert before.evidence["operation_id"] == before.operation_id
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    for name in ("FINSIGHT_STORE_URL", "FINSIGHT_AUDIT_URL", "FINSIGHT_MODE"):
        monkeypatch.delenv(name, raising=False)
    shown = CliRunner().invoke(
        main, ["as-of", (NOW - timedelta(days=20)).isoformat(), "--env", "dev", "--json"]
    )
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)[0]["evidence"]["pruned_to"] == result.export
    (after,) = system.ran_at((NOW - timedelta(days=5)).isoformat(), [DEV])
    assert after.release_id == v2 and after.evidence is not None and "seq" in after.evidence
