"""A canary on MWAA: the live ``dags/`` plus the canary DAGs' new files (and the changed modules only
they import) synced first, checked for import errors and smoke-run through ``invoke_rest_api``; the
rest of the bundle follows only when every canary run succeeded. Which files go first is the rule
every Airflow target shares (``targets/canary.py``)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from finsight_release.errors import TargetError
from finsight_release.release.artifact import Artifact, ArtifactFile, digest_entries
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.airflow_api import AirflowApi
from finsight_release.targets.airflow_start import StartCheck, measure_starts
from finsight_release.targets.canary import canary_overlay
from finsight_release.validate.airflow.bundle import DagBundle


def canary_bundle(
    live: Mapping[str, str],
    artifact: Artifact,
    repo: ReleaseRepository,
    file_of: Mapping[str, str],
    canary_dags: Sequence[str],
) -> Artifact:
    """The live files (path -> sha256) with the canary DAGs' changed files at ``artifact``'s
    version, as an artifact to sync; ``file_of``: each DAG Airflow has -> its file in the bundle.
    A TargetError line when the canary cannot be isolated."""
    new = {f.path: f for f in artifact.files}
    changed = {
        rel
        for rel in live.keys() | new.keys()
        if rel not in new or live.get(rel) != new[rel].digest
    }
    with tempfile.TemporaryDirectory(prefix="finsight-canary-") as tmp:
        bundle = DagBundle(repo.materialize(artifact, Path(tmp) / "dags"), new)
        overlay = canary_overlay(bundle, changed, file_of, canary_dags)
    files = {rel: ArtifactFile(path=rel, digest=digest, size=0) for rel, digest in live.items()}
    files.update({rel: new[rel] for rel in overlay})
    entries = sorted(files.values(), key=lambda f: f.path)
    return artifact.model_copy(update={"files": tuple(entries), "digest": digest_entries(entries)})


def smoke_canaries(api: AirflowApi, canary_dags: Sequence[str]) -> None:
    """A run of each canary DAG must start and succeed; a TargetError line names the first that
    did not (``airflow.smoke``)."""
    for result in measure_starts(api, [StartCheck(d) for d in canary_dags], datetime.now(UTC)):
        if not result.ok:
            raise TargetError(
                f"airflow.smoke: canary {result.dag_id} run {result.run_id} {result.state}: "
                f"{result.detail}"
            )
