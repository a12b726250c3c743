"""Real DagBag parsing and real dependency resolution on small trees and on the reference platform."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.airflow.dagbag import AirflowDagsCheck
from finsight_release.validate.airflow.requirements import DependencyCheck
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.finding import Finding
from tests.mini_platform import make_platform

PYTHON = load_settings().airflow_python
pytestmark = pytest.mark.skipif(
    not PYTHON.exists(), reason="Airflow venv missing: run scripts/setup.sh"
)

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


ENV_CONFIG = "connections:\n  snowflake_default: {}\nvariables:\n  defined_variable: x\n"


def findings_for(
    tmp_path: Path,
    files: dict[str, str | bytes],
    env: str | None = None,
    workers: int = 2,
    **options: str,
) -> list:
    """The DagBag check's findings on a small platform whose DAG folder holds ``files`` (text or raw bytes)."""
    overrides = {
        f"release_assets/airflow/dags/{name}": text
        for name, text in files.items()
        if isinstance(text, str)
    }
    platform = make_platform(tmp_path / "p", overrides)
    for name, data in files.items():
        if isinstance(data, bytes):
            (platform / "release_assets/airflow/dags" / name).write_bytes(data)
    for stale in ("ingest_core.py", "export_partners.py"):
        (platform / "release_assets/airflow/dags" / stale).unlink(missing_ok=True)
    if env:
        (platform / f"release_assets/config/{env}.yaml").write_text(ENV_CONFIG)
    artifacts = ReleaseRepository(LocalObjectStore(tmp_path / "s")).scan(platform)
    dags = [a for a in artifacts if a.name == "airflow/dags"]
    ctx = ValidationContext(
        platform=platform,
        env=env,
        airflow_python=PYTHON,
        options=options,
        workers=workers,
        cache_dir=tmp_path / "c",
    )
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
    # good.py and dup.py define the same DAG id: one finding, whichever shards they landed in.
    duplicates = [
        f
        for f in found
        if f.check_id == "airflow.duplicate_dag_id"
        or (f.check_id == "airflow.import_error" and "also found" in f.message)
    ]
    assert len(duplicates) == 1 and "good" in duplicates[0].message


CYCLE = """
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator
with DAG("cyclic", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily", catchup=False):
    a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
    a >> b >> a
"""
BAD_SCHEDULE = GOOD.replace('schedule="@daily"', 'schedule="61 25 * * *"')


def test_cycles_and_invalid_schedules_are_import_errors(tmp_path: Path) -> None:
    found = findings_for(
        tmp_path, {"cycle.py": CYCLE, "schedule.py": BAD_SCHEDULE.format(dag_id="bad_cron")}
    )
    errors = {
        f.file.rsplit("/", 1)[-1]: f.message for f in found if f.check_id == "airflow.import_error"
    }
    assert set(errors) == {"cycle.py", "schedule.py"}
    assert "cycle" in errors["cycle.py"].lower()
    assert "61 25 * * *" in errors["schedule.py"]


def test_duplicate_dag_id_across_shards_names_both_files(tmp_path: Path) -> None:
    # Two files only, two workers: each lands in its own DagBag, so only the merge can see the clash.
    found = findings_for(
        tmp_path, {"a.py": GOOD.format(dag_id="same"), "b.py": GOOD.format(dag_id="same")}
    )
    (dup,) = [f for f in found if f.check_id == "airflow.duplicate_dag_id"]
    assert "'same'" in dup.message and "dags/a.py" in dup.message and "dags/b.py" in dup.message


def test_one_and_two_workers_find_the_same(tmp_path: Path) -> None:
    files = {f"d{i}.py": GOOD.format(dag_id=f"d{i}") for i in range(4)} | {
        "bad.py": "from airflow import DAG\nx = (\n"
    }
    one = findings_for(tmp_path / "one", files, workers=1)
    two = findings_for(tmp_path / "two", files, workers=2)
    # Errors only: under load a parse can pass the 2 s slow-parse warning in one run and not the other.
    errors = [
        [(f.check_id, f.file, f.line) for f in run if f.severity == "error"] for run in (one, two)
    ]
    assert (
        errors[0]
        == errors[1]
        == [("airflow.import_error", "release_assets/airflow/dags/bad.py", 2)]
    )


def test_slow_parse_and_missing_connection(tmp_path: Path) -> None:
    slow = "import time\ntime.sleep(2.5)\n" + GOOD.format(dag_id="slow")
    found = findings_for(tmp_path, {"slow.py": slow, "conn.py": CONN}, env="dev")
    assert any(f.check_id == "airflow.slow_parse" and f.file.endswith("slow.py") for f in found)
    missing = [f for f in found if f.check_id == "airflow.connection_missing"]
    assert missing and "postgres_not_configured" in missing[0].message


VARIABLES = """
import pendulum
from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
TOPIC = "topic_variable_missing"
def notify():
    Variable.get(TOPIC)
    Variable.get("optional_variable", default_var=None)
with DAG("uses_vars", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily", catchup=False):
    BashOperator(task_id="b", bash_command="{{ var.value.template_variable_missing }} {{ var.value.defined_variable }}")
    PythonOperator(task_id="p", python_callable=notify)
"""


def test_missing_variables_from_templates_and_variable_get(tmp_path: Path) -> None:
    found = findings_for(tmp_path, {"vars.py": VARIABLES}, env="dev")
    missing = {
        f.message.split("'")[1]: f for f in found if f.check_id == "airflow.variable_missing"
    }
    assert set(missing) == {"template_variable_missing", "topic_variable_missing"}
    assert "uses_vars" in missing["template_variable_missing"].message
    assert "vars.py:9" in missing["topic_variable_missing"].message
    assert missing["topic_variable_missing"].file == "release_assets/config/dev.yaml"


def test_only_changed_files_are_parsed(tmp_path: Path) -> None:
    files = {"good.py": GOOD.format(dag_id="good"), "bad.py": "from airflow import DAG\nx = (\n"}
    findings_for(tmp_path, files)  # a full run fills the DAG-id index
    found = findings_for(tmp_path, files, changed_files="good.py")
    assert not [f for f in found if f.severity == "error"]


def test_changed_helper_module_reparses_the_dags_that_import_it(tmp_path: Path) -> None:
    helper = "BROKEN = (\n"
    uses = "from shared.defaults import ARGS\n" + GOOD.format(dag_id="uses_helper")
    files = {"shared/__init__.py": "", "shared/defaults.py": helper, "user.py": uses}
    files["other.py"] = GOOD.format(dag_id="o")
    found = findings_for(tmp_path, files, changed_files="shared/defaults.py")
    assert [(f.check_id, f.file) for f in found if f.severity == "error"] == [
        ("airflow.import_error", "release_assets/airflow/dags/user.py")
    ]


def untimed(findings: list[Finding]) -> list[Finding]:
    """Findings without ``airflow.slow_parse``, which a loaded machine can raise on any file."""
    return [f for f in findings if f.check_id != "airflow.slow_parse"]


def test_changed_file_duplicating_an_unchanged_dag_id_is_caught_through_the_index(
    tmp_path: Path,
) -> None:
    files = {"a.py": GOOD.format(dag_id="a"), "b.py": GOOD.format(dag_id="b")}
    assert untimed(findings_for(tmp_path, files)) == []  # full run: index filled
    files["b.py"] = GOOD.format(dag_id="a")
    found = findings_for(tmp_path, files, changed_files="b.py")
    assert [f.check_id for f in untimed(found)] == ["airflow.duplicate_dag_id"]


def test_reference_dags_and_requirements_pass(tmp_path: Path) -> None:
    artifacts = ReleaseRepository(LocalObjectStore(tmp_path / "s")).scan(REPO_ROOT)
    ctx = ValidationContext(platform=REPO_ROOT, env="prod", airflow_python=PYTHON)
    dags = [a for a in artifacts if a.name == "airflow/dags"]
    assert not [f for f in AirflowDagsCheck().run(ctx, dags) if f.severity == "error"]
    reqs = [a for a in artifacts if a.name == "airflow/requirements"]
    assert DependencyCheck().run(ctx, reqs) == []


def test_conflicting_requirement_names_the_packages(tmp_path: Path) -> None:
    platform = make_platform(
        tmp_path / "p", {"release_assets/airflow/requirements.txt": "sqlalchemy>=2.0\n"}
    )
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
    assert (
        "sqlalchemy" in found["deps.conflict"].message.lower()
        and "1.4.54" in found["deps.conflict"].message
    )
    assert found["deps.mwaa_slow_path"].severity == "warning"
