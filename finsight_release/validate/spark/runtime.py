"""The Spark runtime jobs run on, and each job's dependency overlay on top of it.

On a cluster, PySpark and py4j come with Spark itself and a job's wheel brings everything else. The
validator mirrors that: the runtime interpreter (``FINSIGHT_SPARK_PYTHON``, ``.venvs/spark`` from
scripts/setup.sh) holds only pyspark and what pyspark needs, and each job gets an overlay directory
with its wheel and the rest of its declared dependency closure (``uv pip install --target``, runtime
packages excluded from resolution), put first on ``sys.path`` for that job only. A job's declared
specifier on a runtime package (``pyspark>=3.5,<4``) must admit the version the runtime provides.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from finsight_release.validate.tools.uv import run_uv, uv_explanation

RUNTIME_QUERY = (
    "import importlib.metadata as m, json, sys\n"
    "print(json.dumps({'python': sys.version.split()[0], 'packages': {d.metadata['Name']: "
    "[d.version, d.requires or []] for d in m.distributions() if d.metadata['Name']}}))"
)
QUERY_TIMEOUT_S = 60.0
CLASS_ARCHIVE = "spark-classes.jsa"  # beside the runtime's bin/, from probes/class_archive.py
OVERLAY_TIMEOUT_S = 300.0


def normalize(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class RuntimePackage:
    """A distribution the runtime provides: its version and its own Requires-Dist."""

    version: str
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class SparkRuntime:
    """The runtime interpreter and the distributions installed in it (by normalized name)."""

    python: Path
    python_version: str
    packages: dict[str, RuntimePackage] = field(default_factory=dict)

    @property
    def class_archive(self) -> Path | None:
        """The JVM class-data archive scripts/setup.sh wrote for this runtime, if there is one."""
        path = self.python.parent.parent / CLASS_ARCHIVE
        return path if path.is_file() else None

    @property
    def pyspark_version(self) -> str | None:
        package = self.packages.get("pyspark")
        return package.version if package else None

    def fingerprint(self) -> str:
        """What a cached result depends on: the interpreter and every provided package version."""
        versions = ",".join(f"{n}=={p.version}" for n, p in sorted(self.packages.items()))
        return f"{self.python}|{self.python_version}|{versions}"


def discover_runtime(python: Path | None) -> SparkRuntime | None:
    """The runtime behind ``python``, or None when the interpreter is missing or has no pyspark."""
    if python is None or not python.exists():
        return None
    try:
        proc = subprocess.run(
            [str(python), "-I", "-c", RUNTIME_QUERY],
            capture_output=True,
            text=True,
            timeout=QUERY_TIMEOUT_S,
            check=False,
        )
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        data = None
    if not data:
        return None
    packages = {
        normalize(name): RuntimePackage(str(version), tuple(requires))
        for name, (version, requires) in data["packages"].items()
    }
    runtime = SparkRuntime(python=python, python_version=str(data["python"]), packages=packages)
    return runtime if runtime.pyspark_version else None


def wheel_requirements(wheel: Path) -> list[str]:
    """The Requires-Dist entries of a built wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(
            n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1
        )
        metadata = Parser().parsestr(archive.read(name).decode("utf-8", errors="replace"))
    return [str(value) for value in metadata.get_all("Requires-Dist") or []]


@dataclass(frozen=True)
class RuntimeConflict:
    """A declared requirement on a runtime-provided package that the provided version does not satisfy."""

    requirement: str
    name: str
    provided: str


def _applies(requirement: Requirement, python_version: str) -> bool:
    """Whether the requirement's marker holds for the runtime (outside any extra of the job's own)."""
    if requirement.marker is None:
        return True
    return requirement.marker.evaluate(
        {"python_version": ".".join(python_version.split(".")[:2]), "extra": ""}
    )


def runtime_conflicts(requirements: list[str], runtime: SparkRuntime) -> list[RuntimeConflict]:
    """Declared requirements on runtime packages (pyspark, py4j) that the runtime's versions do not meet."""
    conflicts = []
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue  # uv reports malformed requirements with its own explanation
        provided = runtime.packages.get(normalize(requirement.name))
        if provided is None or not _applies(requirement, runtime.python_version):
            continue
        if not requirement.specifier.contains(provided.version, prereleases=True):
            conflicts.append(RuntimeConflict(text, requirement.name, provided.version))
    return conflicts


def extra_requirements(requirements: list[str], runtime: SparkRuntime) -> list[str]:
    """What the extras a job asks of runtime packages (``pyspark[sql]``) pull in: the overlay installs them,
    since the runtime package itself is excluded from resolution."""
    out = []
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        provided = runtime.packages.get(normalize(requirement.name))
        if (
            provided is None
            or not requirement.extras
            or not _applies(requirement, runtime.python_version)
        ):
            continue
        for dependency_text in provided.requires:
            try:
                dependency = Requirement(dependency_text)
            except InvalidRequirement:
                continue
            marker = dependency.marker
            if marker is None or marker.evaluate({"extra": ""}):
                continue  # not extra-specific: already satisfied by the runtime
            if any(marker.evaluate({"extra": extra}) for extra in requirement.extras):
                dependency.marker = None
                out.append(str(dependency))
    return sorted(set(out))


def write_excludes(runtime: SparkRuntime, path: Path) -> Path:
    """Write the runtime's package names as a uv ``--excludes`` file and return its path."""
    path.write_text("".join(f"{name}\n" for name in sorted(runtime.packages)))
    return path


def install_overlay(wheel: Path, target: Path, runtime: SparkRuntime, excludes: Path) -> str | None:
    """Install ``wheel`` and its declared dependencies (runtime packages excluded) into ``target``.

    ``excludes`` is the file from :func:`write_excludes`. Returns None on success, else the resolver's
    explanation (it names the packages and versions).
    """
    extras = extra_requirements(wheel_requirements(wheel), runtime)
    proc = run_uv(
        [
            "pip",
            "install",
            "-q",
            "--python",
            str(runtime.python),
            "--target",
            str(target),
            "--excludes",
            str(excludes),
            str(wheel),
            *extras,
        ],
        timeout=OVERLAY_TIMEOUT_S,
    )
    return None if proc.returncode == 0 else uv_explanation(proc.stderr)
