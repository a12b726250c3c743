"""Validate a platform tree against the release an environment runs: only what changed, cached by digest."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import Artifact
from finsight_release.release.changeset import ChangeSet, compute_change_set
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import Mode
from finsight_release.validate.cache import ResultCache
from finsight_release.validate.check import Check, ValidationContext
from finsight_release.validate.runner import ProgressCallback, ValidationReport, run_validation


@dataclass(frozen=True)
class ValidationRequest:
    """What to validate: a platform tree, for an environment, against a base release (or everything)."""

    platform: Path
    env: Environment | None
    base_release: str | None
    validate_all: bool = False
    workers: int = 2


def base_dir_resolver(
    repo: ReleaseRepository, base: ReleaseManifest | None, cache_root: Path
) -> Callable[[str], Path | None]:
    """``base_dir(name)``: the base release's copy of an artifact, materialized once per digest."""

    def resolve(name: str) -> Path | None:
        artifact = base.artifact(name) if base else None
        if artifact is None:
            return None
        final = cache_root / artifact.digest
        if not final.is_dir():
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".tmp-"))
            repo.materialize(artifact, tmp)
            try:
                tmp.rename(final)
            except OSError:  # another validator materialized it first
                shutil.rmtree(tmp, ignore_errors=True)
        return final

    return resolve


def changed_files_option(change_set: ChangeSet | None) -> dict[str, str]:
    """Options telling checks which files of the DAG bundle changed (newline-separated)."""
    if change_set is None:
        return {}
    for change in change_set.changes:
        if change.name == "airflow/dags" and change.change == "modified":
            return {"changed_files": "\n".join(change.files)}
    return {}


def validate_release(
    request: ValidationRequest,
    repo: ReleaseRepository,
    checks: list[Check],
    home: Path,
    airflow_python: Path | None = None,
    extra_options: dict[str, str] | None = None,
    progress: ProgressCallback | None = None,
    warehouse_dir: Path | None = None,
    mode: Mode = Mode.LOCAL,
    spark_python: Path | None = None,
) -> tuple[ValidationReport, tuple[Artifact, ...], ChangeSet | None]:
    """Run ``checks`` on the tree's artifacts that differ from the base (all with ``validate_all``).

    ``warehouse_dir`` and ``mode`` locate the environment's warehouse for the warehouse preflight.
    ``airflow_python`` and ``spark_python`` are the runtimes DAGs are parsed in and Spark jobs run on.
    """
    artifacts = repo.scan(request.platform, strict=False)  # a bad image spec is a finding here
    base = repo.get(request.base_release) if request.base_release else None
    change_set = compute_change_set(base.release_id, base.artifacts, artifacts) if base else None
    changed = None if request.validate_all or change_set is None else set(change_set.changed_names)
    ctx = ValidationContext(
        platform=request.platform,
        env=str(request.env) if request.env else None,
        base_dir=base_dir_resolver(repo, base, home / "validate-cache" / "base"),
        airflow_python=airflow_python,
        spark_python=spark_python,
        cache_dir=home / "validate-cache",
        warehouse_dir=warehouse_dir,
        mode=mode,
        workers=request.workers,
        options={
            **changed_files_option(None if request.validate_all else change_set),
            **(extra_options or {}),
        },
    )
    report = run_validation(
        ctx, artifacts, checks, changed, ResultCache(home / "validate-cache" / "results"), progress
    )
    return report, artifacts, change_set
