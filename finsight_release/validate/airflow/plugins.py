"""``airflow.plugins``: the plugins folder loads in Airflow 2.10.5's own plugin manager.

A plugin that fails to import does not break one DAG but every Airflow component at start-up, and on
MWAA a plugins change is the ~20-minute environment update (``deps.mwaa_slow_path``): finding it
after the update is the most expensive failure there is. The probe (``probes/plugins_probe.py``)
runs in the Airflow virtualenv with the artifact as the plugins folder; each import error is an
ERROR ``airflow.plugin_import_error`` with file and line.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.validate.airflow.dagbag import (
    airflow_env,
    airflow_missing,
    probe_failed,
    relative,
)
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding, Severity

PROBE = Path(__file__).parent / "probes" / "plugins_probe.py"
PROBE_TIMEOUT_S = 300


def load_plugins(python: Path, plugins: Path) -> dict[str, Any]:
    """Load ``plugins`` with Airflow's plugin manager in the Airflow venv; the probe's JSON report."""
    with tempfile.TemporaryDirectory(prefix="finsight-plugins-") as home:
        report = Path(home) / "report.json"
        proc = subprocess.run(
            [str(python), str(PROBE), str(report)],
            env=airflow_env(home, Path(home), plugins),
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
        if proc.returncode != 0 or not report.exists():
            raise probe_failed("plugin", proc.stderr)
        return json.loads(report.read_text())


class AirflowPluginsCheck(CheckDefaults):
    """Every plugin file imports in Airflow's plugin manager."""

    id = "airflow.plugins"
    kinds = frozenset({ArtifactKind.AIRFLOW_PLUGINS})

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            python = ctx.airflow_python
            if python is None or not python.exists():
                findings.append(airflow_missing(self.id, artifact, python, "plugins not loaded"))
                continue
            report = load_plugins(python, ctx.platform / artifact.source)
            for path, error in sorted(report["import_errors"].items()):
                findings.append(
                    Finding(
                        check_id="airflow.plugin_import_error",
                        severity=Severity.ERROR,
                        artifact=artifact.name,
                        file=relative(os.path.realpath(path), ctx.platform.resolve()),
                        line=error["line"],
                        message=f"plugin does not import: {error['message']}",
                        hint="every Airflow component loads plugins at start-up: a broken plugin stops them all",
                    )
                )
        return findings
