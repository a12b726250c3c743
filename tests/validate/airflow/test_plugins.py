"""airflow.plugins: the plugins folder in Airflow 2.10.5's real plugin manager."""

from __future__ import annotations

from pathlib import Path

from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.airflow.plugins import AirflowPluginsCheck, load_plugins
from finsight_release.validate.check import ValidationContext
from tests.mini_platform import make_platform

PYTHON = load_settings().airflow_python
PLUGIN = "from airflow.plugins_manager import AirflowPlugin\n"


def plugin_findings(platform: Path, tmp_path: Path) -> list:
    artifacts = ReleaseRepository(LocalObjectStore(tmp_path / "s")).scan(platform)
    plugins = [a for a in artifacts if a.name == "airflow/plugins"]
    return AirflowPluginsCheck().run(
        ValidationContext(platform=platform, airflow_python=PYTHON), plugins
    )


def test_reference_plugin_loads_with_its_macros(tmp_path: Path) -> None:
    report = load_plugins(PYTHON, REPO_ROOT / "release_assets/airflow/plugins")
    assert report["import_errors"] == {}
    (finsight,) = [p for p in report["plugins"] if p["name"] == "finsight"]
    assert "landing_key" in finsight["macros"]
    assert plugin_findings(REPO_ROOT, tmp_path) == []


def test_broken_plugins_are_errors_with_file_and_line(tmp_path: Path) -> None:
    platform = make_platform(
        tmp_path / "p",
        {
            "release_assets/airflow/plugins/missing.py": PLUGIN
            + "\nimport not_installed_anywhere\n",
            "release_assets/airflow/plugins/syntax.py": PLUGIN + "def broken(:\n",
        },
    )
    found = {f.file: f for f in plugin_findings(platform, tmp_path)}
    missing = found["release_assets/airflow/plugins/missing.py"]
    assert missing.check_id == "airflow.plugin_import_error" and missing.severity == "error"
    assert "not_installed_anywhere" in missing.message and missing.line == 3
    assert found["release_assets/airflow/plugins/syntax.py"].line == 2
    assert set(found) == {
        "release_assets/airflow/plugins/missing.py",
        "release_assets/airflow/plugins/syntax.py",
    }


def test_missing_interpreter_is_a_warning(tmp_path: Path) -> None:
    artifacts = ReleaseRepository(LocalObjectStore(tmp_path / "s")).scan(REPO_ROOT)
    plugins = [a for a in artifacts if a.name == "airflow/plugins"]
    ctx = ValidationContext(platform=REPO_ROOT, airflow_python=tmp_path / "no-python")
    (finding,) = AirflowPluginsCheck().run(ctx, plugins)
    assert finding.severity == "warning" and "scripts/setup.sh" in (finding.hint or "")
