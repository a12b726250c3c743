"""The reference Airflow DAGs parse under the real Airflow 2.10.5 (its own venv, run as a subprocess)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

AIRFLOW_DIR = Path(__file__).resolve().parents[2] / "release_assets" / "airflow"
AIRFLOW_PYTHON = Path(__file__).resolve().parents[2] / ".venvs" / "airflow" / "bin" / "python"
EXPECTED_DAG_COUNT = 120


@pytest.fixture(scope="module")
def dagbag_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run tools/dagbag_report.py under Airflow 2.10.5 with a throwaway AIRFLOW_HOME; return its JSON."""
    if not AIRFLOW_PYTHON.exists():
        pytest.skip(f"Airflow venv not found at {AIRFLOW_PYTHON}")
    home = tmp_path_factory.mktemp("airflow_home")
    report_path = home / "report.json"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(AIRFLOW_DIR / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(AIRFLOW_DIR / "plugins"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    started = time.monotonic()
    completed = subprocess.run(
        [
            str(AIRFLOW_PYTHON),
            str(AIRFLOW_DIR / "tools" / "dagbag_report.py"),
            str(AIRFLOW_DIR / "dags"),
            str(report_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:] + completed.stdout[-3000:]
    report = json.loads(report_path.read_text())
    report["wall_seconds"] = time.monotonic() - started
    return report


def test_every_dag_file_imports_without_errors(dagbag_report: dict[str, Any]) -> None:
    assert dagbag_report["import_errors"] == {}


def test_the_platform_has_exactly_120_dags(dagbag_report: dict[str, Any]) -> None:
    assert dagbag_report["dag_count"] == EXPECTED_DAG_COUNT
    ingestion = [dag_id for dag_id in dagbag_report["dags"] if dag_id.startswith("ingest_")]
    assert len(ingestion) == 100


def test_the_dagbag_loads_well_within_the_parse_budget(dagbag_report: dict[str, Any]) -> None:
    assert dagbag_report["load_seconds"] < 30, dagbag_report["load_seconds"]
    assert dagbag_report["wall_seconds"] < 60


def test_critical_dags_carry_an_sla_on_every_task(dagbag_report: dict[str, Any]) -> None:
    critical = {
        dag_id: dag for dag_id, dag in dagbag_report["dags"].items() if "critical" in dag["tags"]
    }
    assert 3 <= len(critical) <= 6, sorted(critical)
    assert {
        "ingest_core_banking__transactions",
        "ingest_payments__payments",
        "dbt_build_marts",
    } <= set(critical)
    for dag_id, dag in critical.items():
        assert dag["sla_seconds"], dag_id
        assert dag["task_slas"] == dag["task_count"], dag_id
    non_critical_with_sla = [
        d for d, dag in dagbag_report["dags"].items() if dag["sla_seconds"] and d not in critical
    ]
    assert non_critical_with_sla == []


def test_every_dag_follows_the_platform_conventions(dagbag_report: dict[str, Any]) -> None:
    for dag_id, dag in dagbag_report["dags"].items():
        assert dag["owner"] and dag["owner"] != "airflow", dag_id
        assert dag["retries"] is not None, dag_id
        assert dag["catchup"] is False, dag_id
        assert dag["start_date"] == "2024-01-01T00:00:00+00:00", dag_id
        assert dag["tags"], dag_id
        assert dag["schedule"] not in ("None", ""), dag_id


def test_the_finsight_plugin_loads(dagbag_report: dict[str, Any]) -> None:
    assert "finsight" in dagbag_report["plugins"]


def test_load_templates_render_to_plain_sql(dagbag_report: dict[str, Any]) -> None:
    rendered = dagbag_report["rendered"]
    assert len(rendered) == 4
    key = rendered["ingest_core_banking__transactions.extract_transactions.s3_key"]
    assert key == "landing/dt=2024-03-01/core_banking/transactions/20240301T100000.parquet"
    merge = "\n".join(rendered["ingest_core_banking__transactions.merge_transactions.sql"])
    assert "MERGE INTO RAW_TEST.core_banking.transactions" in merge
    assert "updated_at >= CAST('2024-03-01 10:00:00' AS TIMESTAMP)" in merge
    assert "@RAW_TEST.PUBLIC.LANDING_STAGE/" + key in merge
    copy = "\n".join(rendered["ingest_s3_market__fx_rates.copy_fx_rates.sql"])
    assert (
        "COPY INTO RAW_TEST.s3_market.fx_rates" in copy and "RAW_TEST.public._load_history" in copy
    )
    for text in (
        merge,
        copy,
        rendered["ingest_core_banking__transactions.extract_transactions.query"],
    ):
        assert "{{" not in text and "{%" not in text


def test_no_dag_file_reads_variables_at_parse_time() -> None:
    offenders = []
    for path in (AIRFLOW_DIR / "dags").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            # Variable.get belongs inside callables (indented), never at module level.
            if re.match(r"^\S.*Variable\.get\(", line):
                offenders.append(f"{path.name}:{number}")
    assert offenders == []


def test_requirements_are_pinned_to_the_committed_constraints() -> None:
    constraints = dict(
        line.split("==", 1)
        for line in (AIRFLOW_DIR / "constraints-2.10.5.txt").read_text().splitlines()
        if "==" in line
    )
    constraints = {name.lower(): version for name, version in constraints.items()}
    requirements = [
        line.strip()
        for line in (AIRFLOW_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    ]
    assert requirements
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        assert version, f"{requirement} is not pinned"
        assert constraints.get(name.lower()) == version, (
            f"{requirement} differs from constraints-2.10.5.txt"
        )
