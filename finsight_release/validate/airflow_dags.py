"""``airflow.*``: the DAG bundle loads in a real Airflow 2.10.5 DagBag, as MWAA would load it.

The probe runs in the Airflow virtualenv (``settings.airflow_python``): import errors (syntax, missing
modules, cycles, duplicate dag ids and invalid schedules all surface as DagBag import errors) are
errors with file and line; a file whose parse takes longer than ``SLOW_PARSE_S`` is a warning (over
the import timeout, an error); every connection id a task uses must be defined in the target
environment's config. With ``changed_files`` in the options only those files are parsed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.finding import Finding, Severity

PROBE = Path(__file__).parent / "probes" / "dagbag_probe.py"
SLOW_PARSE_S = 2.0
IMPORT_TIMEOUT_S = 30.0
_LINE = re.compile(r'File "([^"]+)", line (\d+)')


def run_probe(python: Path, dags: Path, plugins: Path | None, files: Sequence[str] = ()) -> dict[str, Any]:
    """Run the DagBag probe and return its report."""
    with tempfile.TemporaryDirectory(prefix="finsight-airflow-") as home:
        report = Path(home) / "report.json"
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins or home),
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": str(IMPORT_TIMEOUT_S),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "PYTHONPATH": str(dags),
        }
        proc = subprocess.run(
            [str(python), str(PROBE), str(dags), str(report), *[str(dags / f) for f in files]],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0 or not report.exists():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"Airflow DagBag probe failed: {tail}")
        return json.loads(report.read_text())


def error_location(path: str, message: str, root: Path) -> tuple[str, int | None]:
    """The file (relative to the platform) and line an import error points at, innermost frame in the tree."""
    line = None
    for file, number in _LINE.findall(message):
        if file == path or file.startswith(str(root)):
            line = int(number)
    relative = os.path.relpath(path, root) if path.startswith(str(root)) else path
    return relative, line


class AirflowDagsCheck:
    """Loads the DAG bundle in a real DagBag and checks its connections against the env config."""

    id = "airflow.dagbag"
    kinds = frozenset({ArtifactKind.AIRFLOW_DAGS})

    def cache_inputs(self, ctx: ValidationContext, artifact: Artifact) -> str:
        config = ctx.platform / "release_assets" / "config" / f"{ctx.env}.yaml"
        return config.read_text() if ctx.env and config.exists() else ""

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            python = ctx.airflow_python
            if python is None or not python.exists():
                findings.append(
                    self._finding(
                        artifact,
                        Severity.WARNING,
                        f"Airflow interpreter {python} missing; DAGs not parsed",
                        hint="run scripts/setup.sh",
                    )
                )
                continue
            dags = ctx.platform / artifact.source
            plugins = ctx.platform / "release_assets" / "airflow" / "plugins"
            files = [f for f in ctx.options.get("changed_files", "").splitlines() if f.endswith(".py")]
            report = run_probe(python, dags, plugins if plugins.is_dir() else None, files)
            findings += self._import_errors(artifact, report, ctx.platform)
            findings += self._parse_times(artifact, report, ctx.platform)
            findings += self._connections(artifact, report, ctx)
            if not report["dags"] and not report["import_errors"] and not files:
                findings.append(self._finding(artifact, Severity.ERROR, "the DAG bundle defines no DAGs"))
        return findings

    def _finding(self, artifact: Artifact, severity: Severity, message: str, **kw: Any) -> Finding:
        return Finding(
            check_id=kw.pop("check_id", self.id), severity=severity, artifact=artifact.name, message=message, **kw
        )

    def _import_errors(self, artifact: Artifact, report: dict[str, Any], root: Path) -> list[Finding]:
        out = []
        for path, message in sorted(report["import_errors"].items()):
            file, line = error_location(path, message, root)
            last = [m for m in message.strip().splitlines() if m.strip()][-1][:300]
            out.append(
                self._finding(
                    artifact,
                    Severity.ERROR,
                    f"DAG import error: {last}",
                    file=file,
                    line=line,
                    check_id="airflow.import_error",
                    hint="fix the DAG file; the scheduler would show this as a Broken DAG",
                )
            )
        return out

    def _parse_times(self, artifact: Artifact, report: dict[str, Any], root: Path) -> list[Finding]:
        out = []
        for stat in report["stats"]:
            if stat["seconds"] > SLOW_PARSE_S:
                severity = Severity.ERROR if stat["seconds"] >= IMPORT_TIMEOUT_S else Severity.WARNING
                file = os.path.relpath(stat["file"], root) if stat["file"].startswith(str(root)) else stat["file"]
                out.append(
                    self._finding(
                        artifact,
                        severity,
                        f"parsing takes {stat['seconds']:.1f}s (top-level code runs at every scheduler parse)",
                        file=file,
                        check_id="airflow.slow_parse",
                        hint="move I/O and heavy imports into task callables",
                    )
                )
        return out

    def _connections(self, artifact: Artifact, report: dict[str, Any], ctx: ValidationContext) -> list[Finding]:
        config_path = ctx.platform / "release_assets" / "config" / f"{ctx.env}.yaml"
        if not ctx.env or not config_path.exists():
            return []
        config = yaml.safe_load(config_path.read_text()) or {}
        defined = set(config.get("connections") or {})
        missing: dict[str, list[str]] = {}
        for dag_id, dag in report["dags"].items():
            for conn in dag["conn_ids"]:
                if conn not in defined:
                    missing.setdefault(conn, []).append(dag_id)
        return [
            self._finding(
                artifact,
                Severity.ERROR,
                f"connection {conn!r} used by {len(dags)} DAGs (e.g. {dags[0]}) is not defined in {ctx.env}",
                check_id="airflow.connection_missing",
                file=os.path.relpath(config_path, ctx.platform),
                hint=f"add it under connections: in release_assets/config/{ctx.env}.yaml",
            )
            for conn, dags in sorted(missing.items())
        ]
