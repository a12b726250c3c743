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

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from finsight_release.errors import AirflowProbeError
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.validate.airflow.bundle import DagBundle
from finsight_release.validate.airflow.rules import required_variables
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.python_source import parse_python
from finsight_release.validate.severity import env_platform_config

PROBE = Path(__file__).parent / "probes" / "dagbag_probe.py"
SLOW_PARSE_S = 2.0
IMPORT_TIMEOUT_S = 30.0
MEMORY_MB = 2048
MAX_DAG_FILE_BYTES = 10_000_000
STALL_GRACE_S = 20.0
STARTUP_S = 300.0  # Airflow's import before the first file, on a loaded machine
FRAMES_KEPT = 8
_LINE = re.compile(r'File "([^"]+)", line (\d+)')
_FAULT_FRAME = re.compile(r'File "[^"]+", line \d+')


@dataclass(frozen=True)
class DagBagLimits:
    """What one DAG file may cost the probe: Airflow's per-file import timeout and the heap cap."""

    import_timeout_s: float = IMPORT_TIMEOUT_S
    memory_mb: int = MEMORY_MB


@dataclass
class DagBagReport:
    """The merged result of the probes: import errors by file, per-file stats, DAGs by id, DAG ids
    defined by more than one file, and per file the first line that wrote output and its warnings."""

    import_errors: dict[str, str] = field(default_factory=dict)
    stats: list[dict[str, Any]] = field(default_factory=list)
    dags: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    output: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        """Add one file's record from a probe; a DAG id already seen from another file is a duplicate."""
        path = record["file"]
        self.stats.append(
            {
                "file": path,
                "seconds": record.get("seconds", 0.0),
                "dag_ids": record.get("dag_ids", []),
            }
        )
        if record.get("error"):
            self.import_errors[path] = record["error"]
        if record.get("output"):
            self.output[path] = {**record["output"], "chars": record.get("output_chars", 0)}
        if record.get("warnings"):
            self.warnings[path] = record["warnings"]
        for dag_id, dag in (record.get("dags") or {}).items():
            if not self.clashes(dag_id, dag["file"]):
                self.dags[dag_id] = dag

    def clashes(self, dag_id: str, file: str) -> bool:
        """Whether ``file`` defining ``dag_id`` duplicates a DAG already seen from another file (recorded)."""
        seen = self.dags.get(dag_id)
        if seen is None or seen["file"] == file:
            return False
        self.duplicates.setdefault(dag_id, [seen["file"]]).append(file)
        return True


def airflow_env(
    home: str, dags: Path, plugins: Path | None, limits: DagBagLimits = DagBagLimits()
) -> dict[str, str]:
    """The environment of an Airflow process that parses ``dags`` with a throwaway metadata DB."""
    return {
        **os.environ,
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins or home),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": str(limits.import_timeout_s),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "FINSIGHT_DAGBAG_MEMORY_MB": str(limits.memory_mb),
        "PYTHONPATH": str(dags),
        "PYTHONIOENCODING": "utf-8",
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


def run_dagbag(
    python: Path,
    dags: Path,
    plugins: Path | None,
    files: Sequence[str],
    workers: int = 2,
    limits: DagBagLimits = DagBagLimits(),
) -> DagBagReport:
    """Parse ``files`` (relative to ``dags``) in real DagBags, ``workers`` processes side by side.

    Every file gets a record: parsed, an import error, or the crash it caused (see :class:`ShardRun`).
    """
    report = DagBagReport()
    if not files:
        return report
    with tempfile.TemporaryDirectory(prefix="finsight-airflow-") as tmp:
        shards = shard(files, dags, workers)
        runs = [
            ShardRun(python, dags, plugins, Path(tmp) / f"shard{i}", limits)
            for i in range(len(shards))
        ]
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            jobs = [
                pool.submit(run.run, [str(dags / f) for f in part])
                for run, part in zip(runs, shards, strict=True)
            ]
            parts = [job.result() for job in jobs]
    for part in parts:
        for record in part:
            report.add(record)
    return report


@dataclass
class ShardRun:
    """Parses one shard in probe processes, restarting after any file that takes a probe down.

    The probe reports each file as it goes; when a probe dies, the file it had begun is the cause: that
    file gets an import error saying how it died (with the line faulthandler saw), and a new probe
    continues with the files after it. A probe that stops reporting for longer than the import timeout
    plus a grace period is killed and the same applies. Only a probe that dies before its first file
    (Airflow itself cannot start) fails the whole check.
    """

    python: Path
    dags: Path
    plugins: Path | None
    home: Path
    limits: DagBagLimits

    def run(self, files: list[str]) -> list[dict[str, Any]]:
        """A record for every file of ``files``, in order: parsed, import error, or the crash it caused."""
        self.home.mkdir(parents=True, exist_ok=True)
        records: list[dict[str, Any]] = []
        remaining, attempt = list(files), 0
        while remaining:
            attempt += 1
            outcome = self._probe(remaining, attempt)
            records += outcome.done
            if outcome.died is None:
                break
            if outcome.begun is None:
                raise AirflowProbeError(f"Airflow DagBag probe failed: {outcome.died}")
            records.append(outcome.crash_record())
            remaining = remaining[remaining.index(outcome.begun) + 1 :]
        return records

    def _probe(self, files: list[str], attempt: int) -> ProbeOutcome:
        """Run one probe over ``files`` and say how far it got."""
        listing, report = self.home / f"files-{attempt}.json", self.home / f"report-{attempt}.jsonl"
        crash, stderr_path = self.home / f"crash-{attempt}.log", self.home / f"stderr-{attempt}.log"
        listing.write_text(json.dumps(files))
        argv = [str(self.python), str(PROBE), str(self.dags), str(listing), str(report), str(crash)]
        stall_s = self.limits.import_timeout_s + STALL_GRACE_S
        with stderr_path.open("wb") as stderr:
            proc = subprocess.Popen(
                argv,
                env=airflow_env(str(self.home), self.dags, self.plugins, self.limits),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # a DAG file's children die with the probe
            )
            stalled = _wait(proc, report, stall_s)
        done, begun, finished = _read_report(report)
        if finished and proc.returncode == 0:
            return ProbeOutcome(done)
        trace = _crash_trace(crash)
        if stalled:
            reason = f"the parse stopped responding for {stall_s:.0f}s and was killed"
        elif _watchdog_fired(crash):
            reason = f"the import did not end within the {self.limits.import_timeout_s:.0f}s timeout and ignored it"
        elif proc.returncode and proc.returncode < 0:
            reason = f"the parser process died of {signal_name(-proc.returncode)}"
        else:
            reason = f"the parser process exited with status {proc.returncode}"
        if begun is None:
            return ProbeOutcome(done, died=_tail(stderr_path) or reason)
        return ProbeOutcome(done, begun=begun, died=reason, trace=trace)


@dataclass
class ProbeOutcome:
    """What one probe process did: the files it finished, and if it died, the file it was in and why."""

    done: list[dict[str, Any]]
    begun: str | None = None
    died: str | None = None
    trace: list[str] = field(default_factory=list)

    def crash_record(self) -> dict[str, Any]:
        """The begun file's record: an import error whose traceback is what faulthandler saw."""
        frames = "".join(f"\n  {frame}" for frame in self.trace)
        message = f"DAG file took the parser down: {self.died}"
        return {
            "file": self.begun,
            "seconds": 0.0,
            "dag_ids": [],
            "dags": {},
            "error": f"Crash:{frames}\n{message}",
        }


def _wait(proc: subprocess.Popen[bytes], report: Path, stall_s: float) -> bool:
    """Wait for ``proc``; kill it (and its session) when its report has not grown for ``stall_s``."""
    size, last_change = -1, time.monotonic()
    while proc.poll() is None:
        try:
            now_size = report.stat().st_size
        except OSError:
            now_size = 0
        if now_size != size:
            size, last_change = now_size, time.monotonic()
        elif time.monotonic() - last_change > (stall_s if size > 0 else STARTUP_S):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.05 if size <= 0 else 0.5)
    return False


def _read_report(report: Path) -> tuple[list[dict[str, Any]], str | None, bool]:
    """(finished file records, the file begun but not finished, whether the probe finished)."""
    done: list[dict[str, Any]] = []
    begun: str | None = None
    finished = False
    try:
        lines = report.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a line cut by the crash
        if "begin" in item:
            begun = item["begin"]
        elif "file" in item:
            done.append(item)
            begun = None
        elif item.get("done"):
            finished = True
    return done, begun, finished


def _crash_trace(crash: Path) -> list[str]:
    """The frames faulthandler wrote (``File "x", line N``), innermost last as in a traceback."""
    try:
        text = crash.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    frames = [m.group(0) for m in _FAULT_FRAME.finditer(text)]
    return list(reversed(frames[:FRAMES_KEPT]))  # faulthandler lists the most recent call first


def _watchdog_fired(crash: Path) -> bool:
    """Whether faulthandler's watchdog (not a fatal signal) wrote the crash log: it starts with "Timeout"."""
    try:
        with crash.open("rb") as fh:
            return fh.read(16).startswith(b"Timeout")
    except OSError:
        return False


def signal_name(number: int) -> str:
    """``SIGSEGV (segmentation fault)`` for 11."""
    try:
        sig = signal.Signals(number)
    except ValueError:
        return f"signal {number}"
    return f"{sig.name} ({signal.strsignal(sig) or sig.name})".lower().replace(
        sig.name.lower(), sig.name
    )


def _tail(path: Path) -> str:
    """The last non-empty line of a small log file."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - 4096))
            lines = [
                line.strip()
                for line in fh.read().decode("utf-8", "replace").splitlines()
                if line.strip()
            ]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def probe_failed(what: str, stderr: str) -> AirflowProbeError:
    """The error for an Airflow probe that died before its work: its last stderr line (or "no output")."""
    tail = (stderr.strip().splitlines() or ["no output"])[-1]
    return AirflowProbeError(f"Airflow {what} probe failed: {tail}")


def summarize(error: str) -> str:
    """The exception line of an import error's traceback (``SyntaxError: ...``), or its last line."""
    lines = [line for line in error.strip().splitlines() if line.strip()]
    if not lines:
        return "(no message)"
    frames = [i for i, line in enumerate(lines) if line.lstrip().startswith('File "')]
    after = lines[frames[-1] + 1 :] if frames else lines
    body = [line for line in after if not line.startswith((" ", "\t"))]
    return (body[0] if body else lines[-1]).strip()


def airflow_missing(
    check_id: str, artifact: Artifact, python: Path | None, skipped: str
) -> Finding:
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
        if file == path or (file.startswith(str(root)) and file != str(PROBE)):
            line = int(number)
    return relative(path, root), line


def relative(path: str, root: Path) -> str:
    """``path`` relative to the platform root when it is inside it."""
    return os.path.relpath(path, root) if path.startswith(str(root)) else path


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def dagbag_limits(ctx: ValidationContext) -> DagBagLimits:
    """The env config's ``validation.dagbag`` limits, overridden by the options
    ``dagbag_import_timeout_s`` / ``dagbag_memory_mb``; defaults without either."""
    config = env_platform_config(ctx)
    base = config.validation.dagbag if config else None
    timeout = ctx.options.get("dagbag_import_timeout_s") or (
        base.import_timeout_s if base else IMPORT_TIMEOUT_S
    )
    memory = ctx.options.get("dagbag_memory_mb") or (base.memory_mb if base else MEMORY_MB)
    return DagBagLimits(import_timeout_s=float(timeout), memory_mb=int(memory))


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


class AirflowDagsCheck(CheckDefaults):
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

    def _check_bundle(
        self, ctx: ValidationContext, artifact: Artifact, python: Path
    ) -> list[Finding]:
        dags = ctx.platform / artifact.source
        plugins = ctx.platform / "release_assets" / "airflow" / "plugins"
        bundle = DagBundle(
            dags, (f.path for f in artifact.files)
        )  # what ships: no symlinks, no caches
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
        too_large = [f for f in to_parse if _size(dags / f) > MAX_DAG_FILE_BYTES]
        to_parse = [f for f in to_parse if f not in too_large]
        limits = dagbag_limits(ctx)
        report = run_dagbag(
            python, dags, plugins if plugins.is_dir() else None, to_parse, ctx.workers, limits
        )
        for stat in report.stats:
            rel = os.path.relpath(stat["file"], dags)
            if (
                rel in fingerprints
            ):  # a file that fails to import defines no DAGs, as in the scheduler
                index.put(fingerprints[rel], stat["dag_ids"])
        for rel, ids in known.items():
            for dag_id in ids or []:
                report.clashes(dag_id, str(dags / rel))
        findings = self._import_errors(artifact, report, ctx.platform)
        findings += self._unchecked(artifact, report, dags, to_parse, too_large, ctx.platform)
        findings += self._output_and_warnings(artifact, report, ctx.platform)
        findings += self._duplicates(artifact, report, ctx.platform)
        findings += self._parse_times(artifact, report, ctx.platform)
        findings += self._config_references(artifact, report, ctx, bundle, to_parse)
        if not report.dags and not report.import_errors and not changed:
            findings.append(
                self._finding(artifact, Severity.ERROR, "the DAG bundle defines no DAGs")
            )
        return findings

    def _finding(self, artifact: Artifact, severity: Severity, message: str, **kw: Any) -> Finding:
        return Finding(
            check_id=kw.pop("check_id", self.id),
            severity=severity,
            artifact=artifact.name,
            message=message,
            **kw,
        )

    def _import_errors(self, artifact: Artifact, report: DagBagReport, root: Path) -> list[Finding]:
        out = []
        for path, message in sorted(report.import_errors.items()):
            file, line = error_location(path, message, root)
            last = summarize(message)[:300]
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

    def _unchecked(
        self,
        artifact: Artifact,
        report: DagBagReport,
        dags: Path,
        parsed: list[str],
        too_large: list[str],
        root: Path,
    ) -> list[Finding]:
        """Files too large to parse, and any file the probes did not account for: never a silent pass."""
        seen = {stat["file"] for stat in report.stats}
        out = [
            self._finding(
                artifact,
                Severity.ERROR,
                f"{_size(dags / f) / 1e6:.1f} MB is over the {MAX_DAG_FILE_BYTES // 1_000_000} MB a DAG file may be; "
                "not parsed (the scheduler re-parses every file every 30 s)",
                file=relative(str(dags / f), root),
                check_id="airflow.file_too_large",
                hint="generate DAGs from a small file and data (a factory), not a huge module",
            )
            for f in too_large
        ]
        out += [
            self._finding(
                artifact,
                Severity.ERROR,
                "the DAG file was not checked: no parse result came back for it",
                file=relative(str(dags / f), root),
                check_id="airflow.not_checked",
                hint="re-run the validation; if it persists, report it with the file",
            )
            for f in parsed
            if str(dags / f) not in seen
        ]
        return out

    def _output_and_warnings(
        self, artifact: Artifact, report: DagBagReport, root: Path
    ) -> list[Finding]:
        """Output written and warnings raised while a DAG file was imported (the scheduler's logs, every parse)."""
        out = []
        for path, where in sorted(report.output.items()):
            out.append(
                self._finding(
                    artifact,
                    Severity.WARNING,
                    f"importing the file writes {where.get('chars', 0)} characters of output",
                    file=relative(where.get("path") or path, root),
                    line=where.get("line"),
                    check_id="airflow.import_output",
                    hint="top-level code runs at every scheduler parse: log inside tasks instead",
                )
            )
        for _path, messages in sorted(report.warnings.items()):
            own = [m for m in messages if m.startswith(str(root))]
            if not own:
                continue
            file, _, rest = own[0].partition(":")
            line, _, text = rest.partition(":")
            more = f" (and {len(own) - 1} more)" if len(own) > 1 else ""
            out.append(
                self._finding(
                    artifact,
                    Severity.WARNING,
                    f"importing the file warns: {text.strip()[:300]}{more}",
                    file=relative(file, root),
                    line=int(line) if line.isdigit() else None,
                    check_id="airflow.import_warning",
                    hint="fix what the warning names before an Airflow upgrade turns it into an error",
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
                severity = (
                    Severity.ERROR if stat["seconds"] >= IMPORT_TIMEOUT_S else Severity.WARNING
                )
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
        self,
        artifact: Artifact,
        report: DagBagReport,
        ctx: ValidationContext,
        bundle: DagBundle,
        parsed: list[str],
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
                tree = parse_python((bundle.root / rel).read_bytes())
            except (OSError, SyntaxError, ValueError):
                continue
            found += [(rel, line, name) for line, name in required_variables(tree)]
        return found
