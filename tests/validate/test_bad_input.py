"""The whole default check set on a platform tree where every artifact is junk: findings, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsight_release.cli import main
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.registry import default_checks
from finsight_release.validate.release_validation import ValidationRequest, validate_release
from finsight_release.validate.runner import INTERNAL_PREFIX
from tests.mini_platform import make_platform

JUNK = bytes(range(256)) * 4
JUNK_FILES: dict[str, str | bytes] = {
    # Mentions airflow and dag, so the DagBag parses it: null bytes are an import error, not a crash.
    "release_assets/airflow/dags/broken_dag.py": b"from airflow import DAG\n" + JUNK,
    "release_assets/airflow/requirements.txt": "this is ))) not a requirement ===\n",
    "dbt_project/dbt_project.yml": ": : :\n\t- [\n",
    "dbt_project/models/stg_accounts.sql": JUNK,
    "release_assets/spark/ledger_compaction/job.yaml": JUNK,
    "release_assets/streaming/payments.events/schema.avsc": '{"type": "record", "name": ',
    "release_assets/streaming/payments.events/topic.yaml": "compatibility: [SIDEWAYS\n",
    "release_assets/terraform/data_lake/plan.json": '{"lineage": "x", "serial": 3, "resources": []}',
    "release_assets/config/dev.yaml": JUNK,
    "release_assets/images/airflow/image.yaml": "digest: [\n",
}


def junk_platform(root: Path) -> Path:
    platform = make_platform(root)
    for rel, content in JUNK_FILES.items():
        path = platform / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    huge = platform / "release_assets/streaming/payments.events/history/huge.avsc"
    huge.parent.mkdir(parents=True, exist_ok=True)
    huge.write_bytes(b"{" * (12 * 1024 * 1024))
    outside = root.parent / f"{root.name}-outside.txt"
    outside.write_text("not part of the release\n")
    (platform / "release_assets/airflow/dags/escape.py").symlink_to(outside)
    return platform


@pytest.fixture(scope="module")
def report_and_artifacts(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("junk")
    platform = junk_platform(tmp / "platform")
    repo = ReleaseRepository(LocalObjectStore(tmp / "store"))
    request = ValidationRequest(platform, None, None, validate_all=True)
    report, artifacts, _ = validate_release(
        request, repo, default_checks(), tmp / "home", load_settings().airflow_python
    )
    return report, artifacts


def test_no_check_crashes_on_junk(report_and_artifacts) -> None:  # noqa: ANN001
    report, _ = report_and_artifacts
    crashed = [str(f) for f in report.findings if f.check_id.startswith(INTERNAL_PREFIX)]
    assert crashed == []
    assert not report.passed


def test_every_junk_artifact_gets_a_blocking_finding(report_and_artifacts) -> None:  # noqa: ANN001
    report, artifacts = report_and_artifacts
    blocked = {f.artifact for f in report.findings if f.severity.is_blocking}
    junk_artifacts = {
        a.name
        for a in artifacts
        for rel in JUNK_FILES
        if rel.startswith(a.source.rstrip("/") + "/")
    }
    assert junk_artifacts - blocked == set()


def test_messages_are_one_line_and_name_the_problem(report_and_artifacts) -> None:  # noqa: ANN001
    report, _ = report_and_artifacts
    for finding in report.findings:
        assert "\n" not in finding.message and "Traceback" not in finding.message, finding
    by_file = {f.file: f for f in report.findings if f.file}
    assert (
        "symlink escapes the platform tree"
        in by_file["release_assets/airflow/dags/escape.py"].message
    )
    huge = by_file["release_assets/streaming/payments.events/history/huge.avsc"]
    assert "too large" in huge.message


def test_cli_exits_non_zero_and_writes_nothing_to_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("FINSIGHT_HOME", str(home))
    platform = junk_platform(tmp_path / "platform")
    result = CliRunner().invoke(
        main, ["validate", "--platform", str(platform), "--all", "--env", "dev", "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    payload = json.loads(
        result.stdout
    )  # the verdict line goes to stderr: stdout stays machine-readable
    assert payload["passed"] is False and payload["counts"]["error"] > 0
    assert not (home / "store" / "envs").exists()
