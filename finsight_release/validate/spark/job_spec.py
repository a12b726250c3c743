"""What a Spark job package declares: ``job.yaml`` (entry point, sample, Spark conf) and ``pyproject.toml``.

A ``spark_job`` artifact is a directory::

    job.yaml         entry_point: pkg.main:main, console_script, sample: sample/<file>, spark_conf, output.format
    pyproject.toml   [build-system], [project] dependencies, [project.scripts] <console_script> = <entry_point>
    src/<pkg>/       the package; main(argv, spark=None) takes --input <path> --output <dir>
    sample/          a small input the smoke run reads

:func:`read_job_spec` raises :class:`JobSpecError` (carrying the finding id, file and line) for a spec
the checks cannot go on with; a missing sample is not one of those (the build and import still run).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from finsight_release.errors import JobSpecError
from finsight_release.release.artifact import Artifact
from finsight_release.validate.tools.wheel_build import BuildSystem

JOB_FILE = "job.yaml"
PYPROJECT = "pyproject.toml"
_ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_TOML_LINE = re.compile(r"line (\d+)")


@dataclass(frozen=True)
class SparkJobSpec:
    """A job's declarations, resolved against its directory (``sample`` is None when missing)."""

    root: Path
    source: str
    entry_point: str
    program: str
    sample: Path | None
    sample_problem: str | None
    sample_line: int | None
    output_format: str
    build_system: BuildSystem
    conf: dict[str, str] = field(default_factory=dict)
    pyproject_text: str = ""
    job_text: str = ""

    @property
    def sample_name(self) -> str | None:
        """The sample's path inside the job directory (``sample/payments.csv``)."""
        return self.sample.relative_to(self.root.resolve()).as_posix() if self.sample else None

    @property
    def job_file(self) -> str:
        return f"{self.source}/{JOB_FILE}"

    @property
    def pyproject_file(self) -> str:
        return f"{self.source}/{PYPROJECT}"

    def job_line(self, key: str) -> int | None:
        """Line of a top-level ``key:`` in job.yaml."""
        return key_line(self.job_text, key)

    def pyproject_line(self, key: str) -> int | None:
        """Line of the first ``key = ...`` in pyproject.toml."""
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        return next(
            (
                n
                for n, line in enumerate(self.pyproject_text.splitlines(), 1)
                if pattern.match(line)
            ),
            None,
        )

    def dependency_line(self, name: str) -> int | None:
        """Line of the pyproject entry naming ``name`` (a quoted requirement starting with it)."""
        pattern = re.compile(r"""["']\s*""" + re.escape(name) + r"""(?![\w.-])""", re.IGNORECASE)
        for number, line in enumerate(self.pyproject_text.splitlines(), start=1):
            if pattern.search(line):
                return number
        return None


def key_line(text: str, key: str) -> int | None:
    """Line of the first top-level YAML ``key:`` in ``text``."""
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _read_text(path: Path, file: str, check_id: str) -> str:
    if not path.is_file():
        raise JobSpecError(
            check_id, f"{path.name} missing", file, hint=f"every Spark job ships a {path.name}"
        )
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JobSpecError(check_id, f"cannot read {path.name}: {exc}", file) from exc


def _load_job(text: str, file: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        message = f"{JOB_FILE} is not valid YAML: {exc}".splitlines()[0]
        raise JobSpecError("spark.job_spec", message, file, line) from exc
    if not isinstance(data, dict):
        raise JobSpecError("spark.job_spec", f"{JOB_FILE} must be a mapping", file, 1)
    return data


def _load_pyproject(text: str, file: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        raise JobSpecError(
            "spark.build",
            f"{PYPROJECT} is not valid TOML: {exc}",
            file,
            int(match.group(1)) if match else None,
            hint="fix the TOML syntax; the package cannot be built",
        ) from exc


def _scripts(project: dict[str, Any]) -> dict[str, str]:
    scripts = project.get("scripts") if isinstance(project, dict) else None
    return {str(k): str(v) for k, v in scripts.items()} if isinstance(scripts, dict) else {}


def _sample(root: Path, raw: object) -> tuple[Path | None, str | None]:
    """The sample path inside the job directory, or why there is none."""
    if not isinstance(raw, str) or not raw.strip():
        return None, f"{JOB_FILE} declares no sample (the smoke run needs a small input)"
    path = (root / raw).resolve()
    if not path.is_relative_to(root.resolve()):
        return None, f"sample {raw!r} is outside the job directory"
    if path.is_symlink() or not path.exists():
        return None, f"sample {raw!r} does not exist"
    if path.is_dir() and not any(p.is_file() for p in path.rglob("*")):
        return None, f"sample {raw!r} is an empty directory"
    return path, None


def read_job_spec(platform: Path, artifact: Artifact) -> SparkJobSpec:
    """Read and cross-check a job's ``job.yaml`` and ``pyproject.toml``; raises :class:`JobSpecError`."""
    root = platform / artifact.source
    job_file, pyproject_file = f"{artifact.source}/{JOB_FILE}", f"{artifact.source}/{PYPROJECT}"
    job_text = _read_text(root / JOB_FILE, job_file, "spark.job_spec")
    job = _load_job(job_text, job_file)
    pyproject_text = _read_text(root / PYPROJECT, pyproject_file, "spark.build")
    pyproject = _load_pyproject(pyproject_text, pyproject_file)
    try:
        build_system = BuildSystem.from_pyproject(pyproject)
    except ValueError as exc:
        raise JobSpecError(
            "spark.build", str(exc), pyproject_file, key_line(pyproject_text, "[build-system]")
        ) from exc
    scripts = _scripts(pyproject.get("project", {}))
    entry_point = job.get("entry_point")
    if entry_point is None and len(scripts) == 1:
        entry_point = next(iter(scripts.values()))
    if not isinstance(entry_point, str) or not _ENTRY_POINT.match(entry_point.strip()):
        raise JobSpecError(
            "spark.job_spec",
            f"entry_point {entry_point!r} is not of the form package.module:function",
            job_file,
            key_line(job_text, "entry_point"),
            hint="set entry_point: <package>.main:main in job.yaml",
        )
    entry_point = entry_point.strip()
    program = job.get("console_script")
    if program is not None:
        if scripts.get(str(program)) != entry_point:
            declared = scripts.get(str(program))
            raise JobSpecError(
                "spark.job_spec",
                f"console_script {program!r} is {'bound to ' + repr(declared) if declared else 'not declared'} in "
                f"{PYPROJECT} [project.scripts], but job.yaml's entry_point is {entry_point!r}",
                job_file,
                key_line(job_text, "console_script"),
                hint=f'declare {program} = "{entry_point}" under [project.scripts]',
            )
    else:
        program = next(
            (name for name, target in scripts.items() if target == entry_point), root.name
        )
    sample, sample_problem = _sample(root, job.get("sample"))
    output = job.get("output")
    output_format = (
        str(output.get("format") or "parquet") if isinstance(output, dict) else "parquet"
    )
    conf = job.get("spark_conf")
    return SparkJobSpec(
        root=root,
        source=artifact.source,
        entry_point=entry_point,
        program=str(program),
        sample=sample,
        sample_problem=sample_problem,
        sample_line=key_line(job_text, "sample"),
        output_format=output_format,
        build_system=build_system,
        conf={str(k): str(v) for k, v in conf.items()} if isinstance(conf, dict) else {},
        pyproject_text=pyproject_text,
        job_text=job_text,
    )
