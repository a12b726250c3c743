"""``spark.*``: each Spark job package builds, imports with its declared dependencies and runs on its sample.

Per job (``release_assets/spark/<job>/``, see :mod:`finsight_release.validate.spark.job_spec`):

1. build: a wheel from a copy of the artifact's files with the backend its pyproject declares
   (:mod:`~finsight_release.validate.tools.wheel_build`);
2. dependencies: the wheel's Requires-Dist installed into a throwaway overlay, the packages the Spark
   runtime provides (pyspark, py4j) excluded but checked against the runtime's versions
   (:mod:`~finsight_release.validate.spark.runtime`);
3. entry point: ``job.yaml``'s ``entry_point`` imported in the runtime with only that overlay added, so
   an import the pyproject does not declare fails here as it would on the cluster;
4. smoke: ``main(["--input", <sample>, "--output", <tmp>])`` on a local-mode SparkSession, one JVM for
   all jobs of the run (:mod:`~finsight_release.validate.spark.smoke`); the output must hold rows.

Finding ids (ERROR unless noted): ``spark.job_spec`` (job.yaml unreadable or inconsistent with the
pyproject), ``spark.build``, ``spark.dependency`` (does not resolve, or excludes the runtime's pyspark),
``spark.entry_point`` (file and line of the failing import), ``spark.sample_missing``, ``spark.smoke``
(the last exception line, file and line in the job), ``spark.empty_output``, ``spark.session`` (Java
present but no JVM), ``spark.java_missing`` and ``spark.runtime_missing`` (WARNING: the smoke run, or
everything after the build, was skipped), ``spark.not_run`` (WARNING: an earlier job ended the probe).
Nothing is written to the tree: sources are copied, wheels and outputs live in a temp directory.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from finsight_release import toolchain
from finsight_release.errors import SparkProbeError
from finsight_release.observe.logging import get_logger
from finsight_release.one_line import one_line
from finsight_release.release.artifact import Artifact, ArtifactKind, list_files
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.spark.job_spec import JobSpecError, SparkJobSpec, read_job_spec
from finsight_release.validate.spark.runtime import (
    SparkRuntime,
    discover_runtime,
    install_overlay,
    runtime_conflicts,
    wheel_requirements,
    write_excludes,
)
from finsight_release.validate.spark.smoke import PROBE as SMOKE_PROBE
from finsight_release.validate.spark.smoke import JobOutcome, SmokeJob, SmokeReport, SmokeRunner
from finsight_release.validate.tools.wheel_build import PROBE as BUILD_PROBE
from finsight_release.validate.tools.wheel_build import build_wheels

CHECK_ID = "spark.package"
ALL_JOBS = "spark/*"  # findings about the run, not one job: the runner never caches those
MAX_MESSAGE = 400
_MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")
_PYPROJECT_KEY = re.compile(r"`(?:project|tool\.[\w-]+)\.([\w-]+)")


class SparkJobsCheck(CheckDefaults):
    """Builds, installs, imports and smoke-runs every Spark job package."""

    id = CHECK_ID
    kinds = frozenset({ArtifactKind.SPARK_JOB})

    def __init__(self) -> None:
        self._runtimes: dict[Path | None, SparkRuntime | None] = {}

    def runtime(self, python: Path | None) -> SparkRuntime | None:
        """The Spark runtime behind ``python`` (looked up once per check instance)."""
        if python not in self._runtimes:
            self._runtimes[python] = discover_runtime(python)
        return self._runtimes[python]

    def cache_inputs(self, ctx: ValidationContext, artifact: Artifact) -> str:
        """The runtime (interpreter, package versions), Java's presence and the probes' code decide results too."""
        runtime = self.runtime(ctx.spark_python)
        probes = hashlib.sha256(BUILD_PROBE.read_bytes() + SMOKE_PROBE.read_bytes()).hexdigest()
        return "|".join(
            [runtime.fingerprint() if runtime else "no-runtime", str(toolchain.java()), probes]
        )

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        """Findings for ``artifacts``; jobs whose spec cannot be read are reported and left out of the rest."""
        findings: list[Finding] = []
        specs: dict[str, tuple[Artifact, SparkJobSpec]] = {}
        for artifact in artifacts:
            try:
                spec = read_job_spec(ctx.platform, artifact)
            except JobSpecError as exc:
                findings.append(
                    self._finding(artifact, exc.check_id, exc.message, exc.file, exc.line, exc.hint)
                )
                continue
            specs[Path(artifact.source).name] = (artifact, spec)
            if spec.sample_problem:
                findings.append(
                    self._finding(
                        artifact,
                        "spark.sample_missing",
                        spec.sample_problem,
                        spec.job_file,
                        spec.sample_line,
                        "ship a few representative rows under sample/ and point job.yaml's sample: at them",
                    )
                )
        if not specs:
            return findings
        with tempfile.TemporaryDirectory(prefix="finsight-spark-") as tmp:
            findings += self._check_jobs(ctx, specs, Path(tmp))
        return findings

    def _check_jobs(
        self, ctx: ValidationContext, specs: dict[str, tuple[Artifact, SparkJobSpec]], work: Path
    ) -> list[Finding]:
        findings: list[Finding] = []
        runtime = self.runtime(ctx.spark_python)
        if runtime is None:
            self._build(ctx, specs, work, None, findings)
            findings.append(
                self._run_finding(
                    Severity.WARNING,
                    "spark.runtime_missing",
                    f"Spark runtime interpreter {ctx.spark_python} missing (or without pyspark): packages were built "
                    "but not installed, imported or smoke-run",
                    "run scripts/setup.sh (it creates .venvs/spark), or set FINSIGHT_SPARK_PYTHON",
                )
            )
            return findings
        java = toolchain.java()
        samples = any(spec.sample for _artifact, spec in specs.values())
        if java is None and samples:
            findings.append(
                self._run_finding(
                    Severity.WARNING,
                    "spark.java_missing",
                    "Java not found (JAVA_HOME unset or wrong, no java on PATH): the Spark jobs were built and "
                    "imported but not smoke-run",
                    "install a JRE (scripts/setup.sh installs Debian's default-jre-headless) or set JAVA_HOME",
                )
            )
        smoke = java is not None and samples
        with SmokeRunner(
            runtime.python, work, smoke, runtime.class_archive
        ) as runner:  # the JVM boots meanwhile
            wheels = self._build(ctx, specs, work, runtime, findings)
            overlays = self._install(specs, wheels, work, runtime, findings, ctx.workers)
            jobs = [
                SmokeJob(
                    name=key,
                    overlay=overlays[key],
                    entry_point=spec.entry_point,
                    program=spec.program,
                    input=spec.sample,
                    output=work / "output" / key,
                    output_format=spec.output_format,
                    conf=spec.conf,
                )
                for key, (_artifact, spec) in specs.items()
                if key in overlays
            ]
            report = runner.run(jobs)
        if report.failure and jobs and all(report.jobs[job.name].imported is None for job in jobs):
            # Not one job reached: the runtime itself is broken, which is this check failing, not the release.
            raise SparkProbeError(
                f"Spark smoke probe failed before the first job: {report.failure}"
            )
        findings += self._smoke_findings(specs, jobs, report, smoke)
        return findings

    def _build(
        self,
        ctx: ValidationContext,
        specs: dict[str, tuple[Artifact, SparkJobSpec]],
        work: Path,
        runtime: SparkRuntime | None,
        findings: list[Finding],
    ) -> dict[str, Path]:
        """Build every job's wheel from a copy of its artifact files; returns key -> wheel for the built ones."""
        projects = {}
        for key, (_artifact, spec) in specs.items():
            source = work / "src" / key
            for rel, path in list_files(spec.root):  # exactly what the release ships
                (source / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, source / rel)
            projects[key] = (source, spec.build_system)
        # Build environments take the runtime's Python (the cluster's); without it, this interpreter's.
        python = runtime.python if runtime else Path(sys.executable)
        (work / "build").mkdir()
        outcomes = build_wheels(projects, work / "build", python, max(1, ctx.workers))
        wheels = {}
        for key, outcome in outcomes.items():
            artifact, spec = specs[key]
            if outcome.wheel is not None:
                wheels[key] = outcome.wheel
                continue
            get_logger(__name__).debug("spark_build_failed", job=artifact.name, log=outcome.log)
            key_named = _PYPROJECT_KEY.search(
                outcome.error or ""
            )  # setuptools: "`project.version` must be ..."
            findings.append(
                self._finding(
                    artifact,
                    "spark.build",
                    f"package does not build: {one_line(outcome.error, MAX_MESSAGE)}",
                    spec.pyproject_file,
                    spec.pyproject_line(key_named.group(1)) if key_named else None,
                    hint=f"run `uv build --wheel {spec.source}` to see the build backend's output",
                )
            )
        return wheels

    def _install(
        self,
        specs: dict[str, tuple[Artifact, SparkJobSpec]],
        wheels: dict[str, Path],
        work: Path,
        runtime: SparkRuntime,
        findings: list[Finding],
        workers: int,
    ) -> dict[str, Path]:
        """Install each wheel with its declared dependencies into its own overlay; returns key -> overlay."""
        excludes = write_excludes(runtime, work / "runtime-packages.txt")
        ready: dict[str, Path] = {}
        candidates = []
        for key, wheel in wheels.items():
            artifact, spec = specs[key]
            conflicts = runtime_conflicts(wheel_requirements(wheel), runtime)
            for conflict in conflicts:
                findings.append(
                    self._finding(
                        artifact,
                        "spark.dependency",
                        f"declares {conflict.requirement!r} but the Spark runtime provides "
                        f"{conflict.name} {conflict.provided}",
                        spec.pyproject_file,
                        spec.dependency_line(conflict.name),
                        f"widen the requirement to admit {conflict.name} {conflict.provided} (the cluster's Spark), "
                        "or move the platform's runtime first",
                    )
                )
            if not conflicts:
                candidates.append(key)

        def install(key: str) -> tuple[str, str | None]:
            return key, install_overlay(wheels[key], work / "overlay" / key, runtime, excludes)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for key, problem in pool.map(install, candidates):
                artifact, spec = specs[key]
                if problem is None:
                    ready[key] = work / "overlay" / key
                    continue
                findings.append(
                    self._finding(
                        artifact,
                        "spark.dependency",
                        f"declared dependencies do not resolve: {one_line(problem, MAX_MESSAGE)}",
                        spec.pyproject_file,
                        self._named_dependency_line(spec, wheels[key], problem),
                        "fix the named requirement in [project].dependencies (name, version range, or a package "
                        "the index has)",
                    )
                )
        return ready

    @staticmethod
    def _named_dependency_line(spec: SparkJobSpec, wheel: Path, explanation: str) -> int | None:
        """Line of the declared dependency the resolver's explanation names first."""
        named = []
        for text in wheel_requirements(wheel):
            try:
                name = Requirement(text).name
            except InvalidRequirement:
                continue
            found = re.search(
                rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", explanation, re.IGNORECASE
            )
            if found:
                named.append((found.start(), name))
        for _position, name in sorted(named):
            line = spec.dependency_line(name)
            if line is not None:
                return line
        return None

    def _smoke_findings(
        self,
        specs: dict[str, tuple[Artifact, SparkJobSpec]],
        jobs: list[SmokeJob],
        report: SmokeReport,
        smoke: bool,
    ) -> list[Finding]:
        findings: list[Finding] = []
        if report.session_error:
            findings.append(
                self._run_finding(
                    Severity.ERROR,
                    "spark.session",
                    f"the local SparkSession did not start: {one_line(report.session_error, MAX_MESSAGE)}",
                    "check the JRE (java -version; Spark 3.5 runs on Java 8, 11 or 17) and JAVA_HOME",
                )
            )
        for job in jobs:
            artifact, spec = specs[job.name]
            outcome = report.jobs[job.name]
            if outcome.imported is None:  # the probe ended before this job
                findings.append(self._not_run(artifact, spec, report))
                continue
            if not outcome.imported:
                findings.append(self._import_finding(artifact, spec, job.overlay, outcome))
                continue
            if not smoke or job.input is None or report.session_error:
                continue
            if outcome.smoke_ok is None:
                if outcome.started:  # it was running when the probe died or timed out
                    findings.append(
                        self._finding(
                            artifact,
                            "spark.smoke",
                            f"smoke run did not finish: {one_line(report.failure or 'the probe ended', MAX_MESSAGE)}",
                            spec.job_file,
                            spec.sample_line,
                            self._reproduce(spec, job.name),
                        )
                    )
                else:
                    findings.append(self._not_run(artifact, spec, report))
                continue
            sample = spec.sample_name
            if not outcome.smoke_ok:
                file, line = self._location(artifact, job.overlay, outcome.smoke_where)
                findings.append(
                    self._finding(
                        artifact,
                        "spark.smoke",
                        f"smoke run on {sample} failed: {one_line(outcome.smoke_error, MAX_MESSAGE)}",
                        file or spec.job_file,
                        line if file else spec.sample_line,
                        self._reproduce(spec, job.name),
                    )
                )
            elif not outcome.rows:
                findings.append(
                    self._finding(
                        artifact,
                        "spark.empty_output",
                        f"smoke run on {sample} wrote no rows to --output",
                        spec.job_file,
                        spec.sample_line,
                        "the sample must exercise the job: extend it so the transform emits rows (or fix the "
                        "filter/join that drops them)",
                    )
                )
        return findings

    @staticmethod
    def _reproduce(spec: SparkJobSpec, name: str) -> str:
        return f"reproduce: {spec.program} --input {spec.source}/{spec.sample_name} --output /tmp/{name}"

    def _not_run(self, artifact: Artifact, spec: SparkJobSpec, report: SmokeReport) -> Finding:
        return self._finding(
            artifact,
            "spark.not_run",
            f"not imported or smoke-run: the probe ended early ({one_line(report.failure or 'no result', 200)})",
            spec.job_file,
            severity=Severity.WARNING,
            hint="fix the job whose smoke run did not finish, then validate again",
        )

    def _import_finding(
        self, artifact: Artifact, spec: SparkJobSpec, overlay: Path, outcome: JobOutcome
    ) -> Finding:
        error = outcome.import_error
        file, line = self._location(artifact, overlay, outcome.import_where)
        missing = _MISSING_MODULE.search(error or "")
        package = spec.entry_point.split(":")[0].split(".")[0]
        if missing and missing.group(1).split(".")[0] == package:
            hint = "the wheel does not contain the entry point's package: check [tool.setuptools] package discovery"
        elif missing:
            hint = (
                f"declare the distribution that provides {missing.group(1).split('.')[0]!r} in [project].dependencies: "
                "only declared dependencies are installed with the job"
            )
        elif error and error.startswith("SyntaxError"):
            hint = "fix the syntax error"
        elif error and error.startswith(("AttributeError", "TypeError")) and file is None:
            hint = "job.yaml's entry_point must name a function the module defines"
        else:
            hint = "fix the error raised while importing the entry point module"
        return self._finding(
            artifact,
            "spark.entry_point",
            f"entry point {spec.entry_point} does not import: {one_line(error, MAX_MESSAGE)}",
            file or spec.job_file,
            line if file else spec.job_line("entry_point"),
            hint,
        )

    @staticmethod
    def _location(
        artifact: Artifact, overlay: Path, where: tuple[str, int] | None
    ) -> tuple[str | None, int | None]:
        """The artifact file and line an installed file's line came from (``<overlay>/pkg/main.py`` ->
        ``<source>/src/pkg/main.py``); (None, None) when it is not one of the job's own files."""
        if where is None or not Path(where[0]).is_relative_to(overlay):
            return None, None
        installed = Path(where[0]).relative_to(overlay).as_posix()
        matches = sorted(
            (f.path for f in artifact.files if f"/{f.path}".endswith(f"/{installed}")), key=len
        )
        return (f"{artifact.source}/{matches[0]}", where[1]) if matches else (None, None)

    def _finding(
        self,
        artifact: Artifact,
        check_id: str,
        message: str,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Finding:
        return Finding.on(
            artifact, check_id, message, severity=severity, file=file, line=line, hint=hint
        )

    @staticmethod
    def _run_finding(severity: Severity, check_id: str, message: str, hint: str) -> Finding:
        return Finding(
            check_id=check_id, severity=severity, artifact=ALL_JOBS, message=message, hint=hint
        )
