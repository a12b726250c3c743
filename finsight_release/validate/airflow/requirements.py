"""``deps.*``: the Airflow requirements resolve together with Airflow 2.10.5's constraints.

A real resolver (``uv pip compile`` against the package index) decides, pinned to the Python MWAA runs
(3.11); a conflict is an error quoting the resolver's explanation, which names the packages and
versions. A requirements or plugins change is flagged as the MWAA slow path (an environment update
of ~20 minutes, scheduled apart from DAG-only releases). Results are cached by the digests of the
requirements and the constraint file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from finsight_release.release.artifact import Artifact, ArtifactKind, list_files, sha256_bytes
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.tools.uv import run_uv, uv_explanation

CONSTRAINTS = Path("release_assets/airflow/constraints-2.10.5.txt")
MWAA_PYTHON = "3.11.9"


def resolve(requirements: Path, constraints: Path) -> tuple[bool, str]:
    """(resolves, resolver explanation) for ``requirements`` under ``constraints``."""
    args = [
        "pip",
        "compile",
        "--python-version",
        MWAA_PYTHON,
        "-c",
        str(constraints),
        str(requirements),
    ]
    proc = run_uv([*args, "--no-header", "-q"])
    return proc.returncode == 0, uv_explanation(proc.stderr)


def changed_from_base(ctx: ValidationContext, artifact: Artifact) -> bool:
    """True when the base release has this artifact with other content."""
    base = ctx.base_dir(artifact.name)
    if base is None:
        return False
    before = {rel: sha256_bytes(path.read_bytes()) for rel, path in list_files(base)}
    return before != {f.path: f.digest for f in artifact.files}


class DependencyCheck(CheckDefaults):
    """Requirements resolve under the constraints; requirements/plugins changes are the slow path."""

    id = "deps.resolve"
    kinds = frozenset({ArtifactKind.AIRFLOW_REQUIREMENTS, ArtifactKind.AIRFLOW_PLUGINS})

    def cache_inputs(self, ctx: ValidationContext, artifact: Artifact) -> str:
        path = ctx.platform / CONSTRAINTS
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings = []
        for artifact in artifacts:
            if changed_from_base(ctx, artifact):
                findings.append(
                    Finding(
                        check_id="deps.mwaa_slow_path",
                        severity=Severity.WARNING,
                        artifact=artifact.name,
                        file=artifact.source,
                        message=f"{artifact.name} changed: MWAA applies it with an environment "
                        "update (~20 minutes, workers restart)",
                        hint="ship it apart from DAG-only releases, outside the nightly window",
                    )
                )
            if artifact.kind is ArtifactKind.AIRFLOW_REQUIREMENTS:
                findings += self._resolve(ctx, artifact)
        return findings

    def _resolve(self, ctx: ValidationContext, artifact: Artifact) -> list[Finding]:
        constraints = ctx.platform / CONSTRAINTS
        if not constraints.exists():
            return [
                Finding(
                    check_id="deps.constraints_missing",
                    severity=Severity.ERROR,
                    artifact=artifact.name,
                    message=f"{CONSTRAINTS} missing: requirements cannot be checked against Airflow's set",
                    hint="commit the pip freeze of a working Airflow 2.10.5 environment there",
                )
            ]
        ok, explanation = resolve(ctx.platform / artifact.source, constraints)
        if ok:
            return []
        return [
            Finding(
                check_id="deps.conflict",
                severity=Severity.ERROR,
                artifact=artifact.name,
                file=artifact.source,
                message=f"requirements do not resolve with Airflow 2.10.5's constraints: {explanation[:600]}",
                hint="pin the named packages to versions allowed by constraints-2.10.5.txt",
            )
        ]
