# No `from __future__ import annotations`: kept like the other Dagster-layer modules.
"""dbt run through dagster-dbt inside the run that deploys: the warehouse target's :class:`DbtInvoker`.

A promotion builds the release's new model versions with ``dbt build``. Run from ``promote_job``, that
build goes through dagster-dbt's ``DbtCliResource.cli(..., context=...)``: dbt's structured log lands
in the run, and each model dbt built comes back as a materialization with dagster-dbt's metadata
(execution time, rows, the node's columns). Those are held, not logged, because a model built is
not a model live: the build happens before the switch, and a promotion that fails after it (a data
diff over threshold, a dbt test) leaves the environment running the previous release. Once the
release is live, ``promote_op`` merges them into the one materialization per model it records
(:func:`finsight_release.assets.model_deployments.model_materializations`).
"""

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource

from finsight_release.assets.platform import PlatformDbtTranslator
from finsight_release.errors import DbtRunError
from finsight_release.targets.dbt_overlay import project_manifest, write_duckdb_profile


class DbtInRun:
    """A :class:`~finsight_release.targets.dbt_overlay.DbtInvoker` running dbt through dagster-dbt
    with the run's context; ``built`` holds dagster-dbt's metadata for each model it built."""

    def __init__(self, context: dg.OpExecutionContext, dbt_executable: str) -> None:
        self.context = context
        self.dbt_executable = dbt_executable
        self.built: dict[dg.AssetKey, Mapping[str, Any]] = {}

    def __call__(
        self, args: Sequence[str], project: Path, database: Path, schema: str, target_path: Path
    ) -> None:
        manifest = project_manifest(project)
        with tempfile.TemporaryDirectory(prefix="finsight-profiles-") as profiles:
            runner = DbtCliResource(
                project_dir=str(project),
                profiles_dir=str(write_duckdb_profile(Path(profiles), project, database, schema)),
                dbt_executable=self.dbt_executable,
            )
            invocation = runner.cli(
                list(args),
                manifest=manifest,
                dagster_dbt_translator=PlatformDbtTranslator(),
                context=self.context,
                target_path=target_path,
                raise_on_error=False,
            )
            for event in invocation.stream():
                if isinstance(event, dg.AssetMaterialization):
                    self.built[event.asset_key] = dict(event.metadata)
            if not invocation.is_successful():
                raise DbtRunError(f"dbt {args[0]} of {project} failed: {_error(invocation)}")


def _error(invocation: Any) -> str:
    """The last error line dbt logged, else its exit."""
    error = invocation.get_error()
    lines = [line for line in str(error or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit {invocation.process.returncode}"
