"""The interface every pre-deploy check implements, and the context it runs in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.settings import Mode
from finsight_release.validate.finding import Finding


@dataclass(frozen=True)
class ValidationContext:
    """What a check may look at.

    ``platform`` is the platform tree being validated. ``env`` is the target environment (its
    config is ``release_assets/config/<env>.yaml``), or None for environment-independent checks.
    ``base_dir(artifact_name)`` returns a directory holding the base release's copy of that artifact
    (materialized from the store), or None when there is no base or the artifact is new.
    ``airflow_python`` / ``spark_python``: the Airflow and Spark runtime interpreters, or None when not configured.
    ``cache_dir`` is where a check may keep derived state between runs (e.g. the DAG-id index), or None.
    ``warehouse_dir`` holds the environments' DuckDB warehouse files (``<env>.duckdb``), or None when the
    caller has no warehouse to preflight; ``mode`` is the resource set (``aws``: Snowflake where the env
    config says so).
    """

    platform: Path
    env: str | None = None
    base_dir: Callable[[str], Path | None] = field(default=lambda _name: None)
    airflow_python: Path | None = None
    spark_python: Path | None = None
    cache_dir: Path | None = None
    warehouse_dir: Path | None = None
    mode: Mode = Mode.LOCAL
    workers: int = 2
    options: dict[str, str] = field(default_factory=dict)


class Check(Protocol):
    """A pre-deploy check over the artifacts of some kinds.

    ``run`` receives only artifacts of ``kinds`` (the changed ones, or all with ``--all``) and returns
    findings; it must not raise for bad input (unreadable file, junk, not-a-plan): report a finding.
    ``cacheable``: whether results may be cached by digest; ``parallel_safe``: whether it may run beside
    other checks; ``cache_inputs``: what else a cached result depends on (e.g. the env config's digest).
    Inherit :class:`CheckDefaults` for the usual values.
    """

    id: str
    kinds: frozenset[ArtifactKind]
    cacheable: bool
    parallel_safe: bool

    def cache_inputs(self, ctx: ValidationContext, artifact: Artifact) -> str: ...

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]: ...


class CheckDefaults:
    """The usual answers to a check's optional questions: cacheable, parallel-safe, nothing else cached on."""

    cacheable: bool = True
    parallel_safe: bool = True

    def cache_inputs(self, ctx: ValidationContext, artifact: Artifact) -> str:
        """Nothing beyond the artifact, the check's code, the env and the options."""
        return ""
