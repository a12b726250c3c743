"""Which files of a DAG bundle Airflow parses, what each imports, and what a change affects."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsight_release.settings import REPO_ROOT
from finsight_release.validate.airflow.bundle import DagBundle

DAG = "from airflow import DAG\n"
FILES = {
    ".airflowignore": "# helpers\n^lib(/|$)\n",
    "lib/__init__.py": "",
    "lib/factory.py": "from lib import specs\nfrom .defaults import ARGS\n",
    "lib/defaults.py": "ARGS = {}\n",
    "lib/specs.py": "SPECS = []\n",
    "ingest.py": DAG + "from lib.factory import build\n",
    "export.py": DAG + "import lib.defaults\n",
    "plain.py": DAG + "import json\n",
    "notes.py": "# mentions neither keyword\n",
}


@pytest.fixture
def bundle(tmp_path: Path) -> DagBundle:
    for rel, text in FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.py"
    outside.write_text(DAG)
    (tmp_path / "linked.py").symlink_to(outside)
    return DagBundle.scan(tmp_path)


def test_dag_files_honour_airflowignore_the_heuristic_and_skip_symlinks(bundle: DagBundle) -> None:
    assert bundle.dag_files == ["export.py", "ingest.py", "plain.py"]


def test_imports_resolve_absolute_relative_and_package_imports(bundle: DagBundle) -> None:
    assert bundle.imports("lib/factory.py") == {
        "lib/__init__.py",
        "lib/specs.py",
        "lib/defaults.py",
    }
    assert bundle.closure("ingest.py") == {
        "ingest.py",
        "lib/__init__.py",
        "lib/factory.py",
        "lib/specs.py",
        "lib/defaults.py",
    }
    assert bundle.imports("plain.py") == set()


def test_a_changed_module_affects_every_dag_file_importing_it_transitively(
    bundle: DagBundle,
) -> None:
    assert bundle.affected_dag_files(["lib/specs.py"]) == ["ingest.py"]
    assert bundle.affected_dag_files(["lib/defaults.py"]) == ["export.py", "ingest.py"]
    assert bundle.affected_dag_files(["plain.py"]) == ["plain.py"]
    assert bundle.affected_dag_files(["notes.py"]) == []


def test_fingerprint_changes_with_an_imported_module_only(
    bundle: DagBundle, tmp_path: Path
) -> None:
    before = {f: bundle.fingerprint(f) for f in bundle.dag_files}
    (tmp_path / "lib/specs.py").write_text("SPECS = [1]\n")
    after = {f: DagBundle.scan(tmp_path).fingerprint(f) for f in bundle.dag_files}
    assert [f for f in before if before[f] != after[f]] == ["ingest.py"]


def test_reference_bundle_factory_change_reaches_the_ingestion_dags() -> None:
    reference = DagBundle.scan(REPO_ROOT / "release_assets/airflow/dags")
    affected = reference.affected_dag_files(["finsight_platform/factory.py"])
    assert affected and all(f in reference.dag_files for f in affected)
    assert any(f.startswith("ingestion/") for f in affected)
