"""Real DagBag parsing and real dependency resolution on small trees and on the reference platform."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.airflow_dags import AirflowDagsCheck
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.dependencies import DependencyCheck
from tests.mini_platform import make_platform

PYTHON = load_settings().airflow_python
pytestmark = pytest.mark.skipif(not PYTHON.exists(), reason="Airflow venv missing: run scripts/setup.sh")

GOOD = """
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator
with DAG("{dag_id}", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily", catchup=False,
         default_args={{"owner": "data", "retries": 2}}):
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""
CONN = """
import pendulum
from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
with DAG("uses_conn", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily", catchup=False):
    SQLExecuteQueryOperator(task_id="q", conn_id="postgres_not_configured", sql="select 1")
"""


def findings_for(tmp_path: Path, files: dict[str, str], env: str | None = None, **options: str) -> list:
    overrides = {f"release_assets/airflow/dags/{name}": text for name, text in files.items()}
    platform = make_platform(tmp_path / "p", overrides)
    for stale in ("ingest_core.py", "export_partners.py"):
        (platform / "release_assets/airflow/dags" / stale).unlink(missing_ok=True)
    if env:
        (platform / f"release_assets/config/{env}.yaml").write_text("connections:\n  snowflake_default: {}\n")
    artifacts = ReleaseRepository(LocalObjectStore(tmp_path / "s")).scan(platform)
    dags = [a for a in artifacts if a.name == "airflow/dags"]
    ctx = ValidationContext(platform=platform, env=env, airflow_python=PYTHON, options=options)
    return AirflowDagsCheck().run(ctx, dags)


def test_import_errors_with_file_and_line(tmp_path: Path) -> None:
    found = findings_for(
        tmp_path,
        {
            "good.py": GOOD.format(dag_id="good"),
            "syntax.py": "from airflow import DAG\nx = (\n",
            "missing_module.py": "from airflow import DAG\nimport pandas_gbq_not_installed\n",
            "dup.py": GOOD.format(dag_id="good"),
        },
    )
    errors = {(f.check_id, f.file): f for f in found if f.severity == "error"}
    assert ("airflow.import_error", "release_assets/airflow/dags/syntax.py") in errors
    missing = errors[("airflow.import_error", "release_assets/airflow/dags/missing_module.py")]
    assert "pandas_gbq_not_installed" in missing.message and missing.line == 2
    assert any(
        "good" in f.message and "already" in f.message.lower() or "duplicat" in f.message.lower()
        for f in found
        if f.check_id == "airflow.import_error"
    )


def test_slow_parse_and_missing_connection(tmp_path: Path) -> None:
    slow = "import time\ntime.sleep(2.5)\n" + GOOD.format(dag_id="slow")
    found = findings_for(tmp_path, {"slow.py": slow, "conn.py": CONN}, env="dev")
    assert any(f.check_id == "airflow.slow_parse" and f.file.endswith("slow.py") for f in found)
    missing = [f for f in found if f.check_id == "airflow.connection_missing"]
    assert missing and "postgres_not_configured" in missing[0].message


def test_only_changed_files_are_parsed(tmp_path: Path) -> None:
    found = findings_for(
        tmp_path, {"good.py": GOOD.format(dag_id="good"), "bad.py": "x = (\n"}, changed_files="good.py"
    )
    assert not [f for f in found if f.severity == "error"]


def test_reference_dags_and_requirements_pass(tmp_path: Path) -> None:
    artifacts = ReleaseRepository(LocalObjectStore(tmp_path / "s")).scan(REPO_ROOT)
    ctx = ValidationContext(platform=REPO_ROOT, env="prod", airflow_python=PYTHON)
    dags = [a for a in artifacts if a.name == "airflow/dags"]
    assert not [f for f in AirflowDagsCheck().run(ctx, dags) if f.severity == "error"]
    reqs = [a for a in artifacts if a.name == "airflow/requirements"]
    assert DependencyCheck().run(ctx, reqs) == []


def test_conflicting_requirement_names_the_packages(tmp_path: Path) -> None:
    platform = make_platform(tmp_path / "p", {"release_assets/airflow/requirements.txt": "sqlalchemy>=2.0\n"})
    shutil.copy(
        REPO_ROOT / "release_assets/airflow/constraints-2.10.5.txt",
        platform / "release_assets/airflow/constraints-2.10.5.txt",
    )
    artifacts = ReleaseRepository(LocalObjectStore(tmp_path / "s")).scan(platform)
    reqs = [a for a in artifacts if a.name == "airflow/requirements"]
    base = tmp_path / "base"
    base.mkdir()
    (base / "requirements.txt").write_text("pandas==2.2.3\n")
    ctx = ValidationContext(platform=platform, base_dir=lambda name: base)
    found = {f.check_id: f for f in DependencyCheck().run(ctx, reqs)}
    assert "sqlalchemy" in found["deps.conflict"].message.lower() and "1.4.54" in found["deps.conflict"].message
    assert found["deps.mwaa_slow_path"].severity == "warning"
