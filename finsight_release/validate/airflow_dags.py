"""``airflow.*``: the DAG bundle loads in a real Airflow 2.10.5 DagBag, as MWAA would load it.

The probe runs in the Airflow virtualenv (``settings.airflow_python``), one process per worker on
disjoint shards of the bundle's DAG files, in parallel. Import errors (syntax, missing modules, cycles,
invalid schedules, duplicate DAG ids within a shard) are errors with file and line; a DAG id defined in
two files of different shards is ``airflow.duplicate_dag_id``; a file whose parse takes longer than
``SLOW_PARSE_S`` is a warning (over the import timeout, an error); every connection id a task uses and
every Variable its templates or a ``Variable.get`` reads must be defined in the target environment's
config.

With ``changed_files`` in the options, only the DAG files those changes can affect are parsed (the
changed DAG files and every DAG file importing a changed module). Duplicate ids are still found
against the rest of the bundle through a DAG-id index under ``ctx.cache_dir``, keyed by each file's
fingerprint (its bytes and those of every bundle module it imports); a file missing from the index is
parsed too, so the first run fills it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.dag_bundle import DagBundle
from finsight_release.validate.dag_rules import required_variables
from finsight_release.validate.finding import Finding, Severity

PROBE = Path(__file__).parent / "probes" / "dagbag_probe.py"
SLOW_PARSE_S = 2.0
IMPORT_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 600
_LINE = re.compile(r'File "([^"]+)", line (\d+)')


@dataclass
class DagBagReport:
    """The merged result of the probes: import errors by file, per-file stats, DAGs by id, and DAG ids
    defined by more than one file (across shards)."""

    import_errors: dict[str, str] = field(default_factory=dict)
    stats: list[dict[str, Any]] = field(default_factory=list)
    dags: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: dict[str, list[str]] = field(default_factory=dict)

    def merge(self, part: dict[str, Any]) -> None:
        """Add one probe's report; a DAG id already seen from another file is a duplicate."""
        self.import_errors.update(part["import_errors"])
        self.stats += part["stats"]
        for dag_id, dag in part["dags"].items():
            if not self.clashes(dag_id, dag["file"]):
                self.dags[dag_id] = dag

    def clashes(self, dag_id: str, file: str) -> bool:
        """Whether ``file`` defining ``dag_id`` duplicates a DAG already seen from another file (recorded)."""
        seen = self.dags.get(dag_id)
        if seen is None or seen["file"] == file:
            return False
        self.duplicates.setdefault(dag_id, [seen["file"]]).append(file)
        return True


def airflow_env(home: str, dags: Path, plugins: Path | None) -> dict[str, str]:
    """The environment of an Airflow process that parses ``dags`` with a throwaway metadata DB."""
    return {
        **os.environ,
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins or home),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": str(IMPORT_TIMEOUT_S),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "PYTHONPATH": str(dags),
    }


def shard(files: Sequence[str], root: Path, workers: int) -> list[list[str]]:
    """Split files into at most ``workers`` shards of similar total size (largest first, greedy)."""

    def size(rel: str) -> int:
        try:
            return (root / rel).stat().st_size
        except OSError:
            return 0

    shards: list[list[str]] = [[] for _ in range(max(1, min(workers, len(files))))]
    loads = [0] * len(shards)
    for rel in sorted(files, key=size, reverse=True):
        i = loads.index(min(loads))
        shards[i].append(rel)
        loads[i] += size(rel)
    return [s for s in shards if s]


def run_dagbag(python: Path, dags: Path, plugins: Path | None, files: Sequence[str], workers: int = 2) -> DagBagReport:
    """Parse ``files`` (relative to ``dags``) in real DagBags, ``workers`` processes side by side."""
    report = DagBagReport()
    with tempfile.TemporaryDirectory(prefix="finsight-airflow-") as tmp:
        procs = []
        for i, part in enumerate(shard(files, dags, workers)):
            home = Path(tmp) / f"shard{i}"
            home.mkdir()
            out = home / "report.json"
            argv = [str(python), str(PROBE), str(dags), str(out), *[str(dags / f) for f in part]]
            proc = subprocess.Popen(
                argv,
                env=airflow_env(str(home), dags, plugins),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            procs.append((proc, out))
        for proc, out in procs:
            try:
                _, stderr = proc.communicate(timeout=PROBE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise RuntimeError(f"Airflow DagBag probe timed out after {PROBE_TIMEOUT_S}s") from None
            if proc.returncode != 0 or not out.exists():
                raise probe_failed("DagBag", stderr)
            report.merge(json.loads(out.read_text()))
    return report


def probe_failed(what: str, stderr: str) -> RuntimeError:
    """The error for an Airflow probe that died: its last stderr line (Airflow logs everything else there)."""
    tail = (stderr.strip().splitlines() or ["no output"])[-1]
    return RuntimeError(f"Airflow {what} probe failed: {tail}")


def airflow_missing(check_id: str, artifact: Artifact, python: Path | None, skipped: str) -> Finding:
    """The warning for a check that needs the Airflow virtualenv when it is not there."""
    return Finding(
        check_id=check_id,
        severity=Severity.WARNING,
        artifact=artifact.name,
        message=f"Airflow interpreter {python} missing; {skipped}",
        hint="run scripts/setup.sh",
    )


def error_location(path: str, message: str, root: Path) -> tuple[str, int | None]:
    """The file (relative to the platform) and line an import error points at, innermost frame in the tree."""
    line = None
    for file, number in _LINE.findall(message):
        if file == path or file.startswith(str(root)):
            line = int(number)
    return relative(path, root), line


def relative(path: str, root: Path) -> str:
    """``path`` relative to the platform root when it is inside it."""
    return os.path.relpath(path, root) if path.startswith(str(root)) else path


class DagIdIndex:
    """DAG ids each DAG file defined when last parsed, by the file's fingerprint (one JSON file each)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def get(self, fingerprint: str) -> list[str] | None:
        if self.root is None:
            return None
        try:
            value = json.loads((self.root / f"{fingerprint}.json").read_text())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, list) else None

    def put(self, fingerprint: str, dag_ids: list[str]) -> None:
        if self.root is None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{fingerprint}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(dag_ids))
        tmp.replace(self.root / f"{fingerprint}.json")


class AirflowDagsCheck:
    """Loads the DAG bundle in real DagBags and checks its connections and Variables against the env config."""

    id = "airflow.dagbag"
    kinds = frozenset({ArtifactKind.AIRFLOW_DAGS})

    def cache_inputs(self, ctx: ValidationContext, artifact: Artifact) -> str:
        config = ctx.platform / "release_assets" / "config" / f"{ctx.env}.yaml"
        try:
            return hashlib.sha256(config.read_bytes()).hexdigest() if ctx.env else ""
        except OSError:
            return ""

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            python = ctx.airflow_python
            if python is None or not python.exists():
                findings.append(airflow_missing(self.id, artifact, python, "DAGs not parsed"))
                continue
            findings += self._check_bundle(ctx, artifact, python)
        return findings

    def _check_bundle(self, ctx: ValidationContext, artifact: Artifact, python: Path) -> list[Finding]:
        dags = ctx.platform / artifact.source
        plugins = ctx.platform / "release_assets" / "airflow" / "plugins"
        bundle = DagBundle(dags, (f.path for f in artifact.files))  # what ships: no symlinks, no caches
        index = DagIdIndex(ctx.cache_dir / "dag-ids" if ctx.cache_dir else None)
        changed = [f for f in ctx.options.get("changed_files", "").splitlines() if f]
        fingerprints = {f: bundle.fingerprint(f) for f in bundle.dag_files}
        if changed:
            # Parse what the change can affect, and whatever the index cannot vouch for.
            affected = set(bundle.affected_dag_files(changed))
            known = {f: index.get(fp) for f, fp in fingerprints.items() if f not in affected}
            to_parse = sorted(affected | {f for f, ids in known.items() if ids is None})
        else:
            known, to_parse = {}, list(bundle.dag_files)
        report = run_dagbag(python, dags, plugins if plugins.is_dir() else None, to_parse, ctx.workers)
        for stat in report.stats:
            rel = os.path.relpath(stat["file"], dags)
            if rel in fingerprints:  # a file that fails to import defines no DAGs, as in the scheduler
                index.put(fingerprints[rel], stat["dag_ids"])
        for rel, ids in known.items():
            for dag_id in ids or []:
                report.clashes(dag_id, str(dags / rel))
        findings = self._import_errors(artifact, report, ctx.platform)
        findings += self._duplicates(artifact, report, ctx.platform)
        findings += self._parse_times(artifact, report, ctx.platform)
        findings += self._config_references(artifact, report, ctx, bundle, to_parse)
        if not report.dags and not report.import_errors and not changed:
            findings.append(self._finding(artifact, Severity.ERROR, "the DAG bundle defines no DAGs"))
        return findings

    def _finding(self, artifact: Artifact, severity: Severity, message: str, **kw: Any) -> Finding:
        return Finding(
            check_id=kw.pop("check_id", self.id), severity=severity, artifact=artifact.name, message=message, **kw
        )

    def _import_errors(self, artifact: Artifact, report: DagBagReport, root: Path) -> list[Finding]:
        out = []
        for path, message in sorted(report.import_errors.items()):
            file, line = error_location(path, message, root)
            last = ([m for m in message.strip().splitlines() if m.strip()] or ["(no message)"])[-1][:300]
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

    def _duplicates(self, artifact: Artifact, report: DagBagReport, root: Path) -> list[Finding]:
        return [
            self._finding(
                artifact,
                Severity.ERROR,
                f"DAG id {dag_id!r} is defined in {len(files)} files: {', '.join(relative(f, root) for f in files)}",
                file=relative(files[-1], root),
                check_id="airflow.duplicate_dag_id",
                hint="DAG ids are global: the scheduler keeps one and drops the others; rename one",
            )
            for dag_id, files in sorted(report.duplicates.items())
        ]

    def _parse_times(self, artifact: Artifact, report: DagBagReport, root: Path) -> list[Finding]:
        out = []
        for stat in report.stats:
            if stat["seconds"] > SLOW_PARSE_S:
                severity = Severity.ERROR if stat["seconds"] >= IMPORT_TIMEOUT_S else Severity.WARNING
                out.append(
                    self._finding(
                        artifact,
                        severity,
                        f"parsing takes {stat['seconds']:.1f}s (top-level code runs at every scheduler parse)",
                        file=relative(stat["file"], root),
                        check_id="airflow.slow_parse",
                        hint="move I/O and heavy imports into task callables",
                    )
                )
        return out

    def _config_references(
        self, artifact: Artifact, report: DagBagReport, ctx: ValidationContext, bundle: DagBundle, parsed: list[str]
    ) -> list[Finding]:
        """Connections and Variables the parsed DAGs use that the target environment's config lacks."""
        config_path = ctx.platform / "release_assets" / "config" / f"{ctx.env}.yaml"
        if not ctx.env or not config_path.exists():
            return []
        try:
            config = yaml.safe_load(config_path.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return []  # config.schema reports the broken file
        if not isinstance(config, dict):
            return []
        config_file = os.path.relpath(config_path, ctx.platform)
        variables = self._used(report, "variables")
        for rel, line, name in self._variable_gets(bundle, parsed):
            variables.setdefault(name, []).append(f"{artifact.source}/{rel}:{line}")
        out = []
        for what, section, used in (
            ("connection", "connections", self._used(report, "conn_ids")),
            ("Variable", "variables", variables),
        ):
            defined = set(config.get(section) or {})
            for name, users in sorted(used.items()):
                if name not in defined:
                    out.append(
                        self._finding(
                            artifact,
                            Severity.ERROR,
                            f"{what} {name!r} used by {len(users)} DAGs (e.g. {users[0]}) is not defined in {ctx.env}",
                            check_id=f"airflow.{what.lower()}_missing",
                            file=config_file,
                            hint=f"add it under {section}: in {config_file}",
                        )
                    )
        return out

    @staticmethod
    def _used(report: DagBagReport, key: str) -> dict[str, list[str]]:
        used: dict[str, list[str]] = {}
        for dag_id, dag in report.dags.items():
            for name in dag.get(key, []):
                used.setdefault(name, []).append(dag_id)
        return used

    @staticmethod
    def _variable_gets(bundle: DagBundle, parsed: list[str]) -> list[tuple[str, int, str]]:
        """``Variable.get`` without a default in the parsed DAG files and the bundle modules they import."""
        files = sorted(set().union(*(bundle.closure(f) for f in parsed))) if parsed else []
        found = []
        for rel in files:
            try:
                tree = ast.parse((bundle.root / rel).read_bytes())
            except (OSError, SyntaxError, ValueError):
                continue
            found += [(rel, line, name) for line, name in required_variables(tree)]
        return found
