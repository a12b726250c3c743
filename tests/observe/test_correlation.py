"""One id finds everything: log lines, metric records, audit events and the published release marker
of an operation carry release, environment, operation and Dagster run ids; failures and rollbacks are
counted as the EMF metrics the alarms watch; ``finsight-release logs`` gathers it all."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from finsight_release.audit.log import AuditLog
from finsight_release.cli import main
from finsight_release.envs.environment import Environment
from finsight_release.envs.promotion import Deployer
from finsight_release.errors import PromotionFailedError
from finsight_release.observe.logging import configure_logging, log_context
from finsight_release.observe.metrics import DEPLOY_FAILED, ROLLBACK, MetricSink
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.system import ReleaseSystem
from finsight_release.targets.folder import RELEASE_MARKER, FolderTarget
from tests.envs.test_promotion import FailingTarget
from tests.mini_platform import make_platform

RUN = "0b5c5e2e-1a7b-4c1e-9f3e-2f0d6f3c8a11"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_record_of_an_operation_carries_its_ids(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging(stream)
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    audit = AuditLog(f"sqlite:///{tmp_path / 'audit.db'}", anchor=repo.store)
    folder = FolderTarget(tmp_path / "t", frozenset(ArtifactKind) - {ArtifactKind.DBT_PROJECT})
    flaky = FailingTarget()
    deployer = Deployer(
        repo=repo,
        targets=[folder, flaky],
        audit=audit,
        actor="alice",
        metrics=MetricSink(tmp_path / "metrics.jsonl"),
    )
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "alice")
    v2, _ = repo.build(
        make_platform(tmp_path / "p2", {"dbt_project/models/stg_accounts.sql": "select 2\n"}),
        "alice",
        base=v1,
    )
    with log_context(dagster_run_id=RUN):
        record = deployer.promote(Environment.DEV, v1.release_id)
    ids = {
        "release_id": v1.release_id,
        "environment": "dev",
        "operation_id": record.id,
        "dagster_run_id": RUN,
    }
    step_lines = [e for e in map(json.loads, stream.getvalue().splitlines()) if e.get("step")]
    assert step_lines and all(ids.items() <= e.items() for e in step_lines)
    metrics = _lines(tmp_path / "metrics.jsonl")
    assert metrics and all(
        r["ReleaseId"] == v1.release_id
        and r["Environment"] == "dev"
        and r["OperationId"] == record.id
        and r["DagsterRunId"] == RUN
        for r in metrics
    )
    events = audit.events(release_id=v1.release_id, action="promote")
    assert {e["outcome"] for e in events} == {"started", "ok"}
    assert all(
        e["details"]["operation_id"] == record.id and e["details"]["dagster_run_id"] == RUN
        for e in events
    )
    marker = json.loads((tmp_path / "t" / "dev" / "current" / RELEASE_MARKER).read_text())
    assert ids.items() <= marker.items()
    assert marker["digests"] == v1.digests

    # A dbt-only release does not touch the folder, yet the marker names it; a failed one is undone,
    # the marker names the release back in place, and the failure and rollback are counted.
    flaky.fail = True
    with pytest.raises(PromotionFailedError):
        deployer.promote(Environment.DEV, v2.release_id)
    marker = json.loads((tmp_path / "t" / "dev" / "current" / RELEASE_MARKER).read_text())
    assert marker["release_id"] == v1.release_id
    counted = [r for r in _lines(tmp_path / "metrics.jsonl") if DEPLOY_FAILED in r or ROLLBACK in r]
    assert [(DEPLOY_FAILED in r, r["Environment"], r["ReleaseId"]) for r in counted] == [
        (True, "dev", v2.release_id),
        (False, "dev", v2.release_id),
    ]
    flaky.fail = False
    deployer.promote(Environment.DEV, v2.release_id)
    marker = json.loads((tmp_path / "t" / "dev" / "current" / RELEASE_MARKER).read_text())
    assert marker["release_id"] == v2.release_id


def test_the_airflow_plugin_reads_the_marker_beside_the_dags_folder(tmp_path: Path) -> None:
    """Run by the real Airflow interpreter: the plugin module imports and reads what the target wrote."""
    python = REPO_ROOT / ".venvs" / "airflow" / "bin" / "python"
    if not python.exists():
        pytest.skip("the Airflow virtualenv is not installed (scripts/setup.sh creates it)")
    current = tmp_path / "targets" / "prod" / "current"
    (current / "airflow").mkdir(parents=True)
    (current / "airflow" / "dags").symlink_to(tmp_path, target_is_directory=True)
    (current / RELEASE_MARKER).write_text(
        json.dumps({"release_id": "r-abc", "environment": "prod", "operation_id": "promote-x"})
    )
    plugins = REPO_ROOT / "release_assets" / "airflow" / "plugins"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import finsight_release_marker as m; "
        "print(m.marker_line(m.release_marker(sys.argv[2])))"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow_home")}
    done = subprocess.run(
        [str(python), "-c", script, str(plugins), str(current / "airflow" / "dags")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == (
        "finsight_release_id=r-abc finsight_environment=prod finsight_operation_id=promote-x"
    )


def test_logs_command_gathers_a_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("FINSIGHT_HOME", str(home))
    monkeypatch.setenv("FINSIGHT_ACTOR", "alice")
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    cli = CliRunner()
    built = cli.invoke(
        main, ["build", "--platform", str(make_platform(tmp_path / "p", without="dbt_project"))]
    )
    release = next(w for w in built.output.split() if w.startswith("r-"))
    assert cli.invoke(main, ["promote", "dev", release]).exit_code == 0
    task_log = home / "airflow" / "logs" / "dag_id=ingest_core" / "run_id=x" / "attempt=1.log"
    task_log.parent.mkdir(parents=True)
    task_log.write_text(
        f"[2026-01-01] INFO - finsight_release_id={release} finsight_environment=dev\n"
    )
    (task_log.parent / "attempt=2.log").write_text("finsight_release_id=r-other\n")
    result = cli.invoke(main, ["logs", release, "--json"])
    assert result.exit_code == 0, result.output
    trail = json.loads(result.output)
    assert [op.split("-")[0] for op in trail["operation_ids"]] == ["promote"]
    assert {e["action"] for e in trail["audit_events"]} >= {"build", "promote"}
    assert trail["log_lines"] and all(
        line["operation_id"] == trail["operation_ids"][0]
        for line in trail["log_lines"]
        if "step" in line
    )
    assert trail["metric_records"]
    assert trail["task_logs"] == [str(task_log)]
    text = cli.invoke(main, ["logs", release])
    assert text.exit_code == 0 and str(task_log) in text.output.replace("\n", "")
    unknown = cli.invoke(main, ["logs", "r-nope"])
    assert unknown.exit_code == 1 and "unknown release 'r-nope'" in unknown.output


def test_logs_of_a_failed_release_include_its_automatic_rollback(tmp_path: Path) -> None:
    system = ReleaseSystem(load_settings(home=tmp_path / "home", require_validation=()))
    flaky = FailingTarget()
    system.__dict__["deployer"] = Deployer(  # the system's store and audit log, a failing target
        repo=system.repo, targets=[flaky], audit=system.audit, actor="alice", metrics=system.metrics
    )
    v1, _ = system.build(make_platform(tmp_path / "p1"))
    v2, _ = system.build(
        make_platform(tmp_path / "p2", {"dbt_project/models/stg_accounts.sql": "select 2\n"})
    )
    system.deployer.promote(Environment.DEV, v1.release_id)
    flaky.fail = True
    with pytest.raises(PromotionFailedError):
        system.deployer.promote(Environment.DEV, v2.release_id)
    trail = system.release_trail(v2.release_id)
    actions = [(e["action"], e["outcome"], e["release_id"]) for e in trail.audit_events]
    assert ("fail", "failed", v2.release_id) in actions
    assert ("rollback", "ok", v1.release_id) in actions  # names v1, found by its operation id
    assert len(trail.operation_ids) == 1
    assert {r.get(DEPLOY_FAILED) for r in trail.metric_records} >= {1}
