"""Which files a canary takes live: the canary DAGs' changed files and the changed modules only they
import. One rule for every Airflow target (self-managed folder, MWAA): a canary must be a DAG the
running Airflow has and the release changes, and a changed module other DAGs also import cannot be
isolated, so such a canary is refused."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from finsight_release.errors import TargetError
from finsight_release.validate.airflow.bundle import DagBundle


def canary_overlay(
    bundle: DagBundle,
    changed: set[str],
    file_of: Mapping[str, str],
    canary_dags: Sequence[str],
) -> set[str]:
    """The files of the new ``bundle`` to put live first for ``canary_dags``; ``changed``: the files
    the release changes, ``file_of``: each DAG Airflow has -> its file. A TargetError line when a
    canary is unknown, unchanged, or cannot be isolated."""
    canary_files = set()
    for dag_id in canary_dags:
        rel = file_of.get(dag_id)
        if rel is None:
            raise TargetError(
                f"airflow.canary: {dag_id} is not a DAG the running Airflow has; a canary must be "
                "an existing DAG the release changes"
            )
        if rel not in bundle.affected_dag_files(changed):
            raise TargetError(f"airflow.canary: this release does not change {dag_id} ({rel})")
        canary_files.add(rel)
    overlay = {m for rel in canary_files for m in bundle.closure(rel) & changed}
    others = [f for f in bundle.dag_files if f not in canary_files]
    shared = sorted(m for m in overlay if any(m in bundle.closure(f) for f in others))
    if shared:
        raise TargetError(
            f"airflow.canary: the canary cannot be isolated: changed module {shared[0]} is also "
            "imported by DAGs outside the canary"
        )
    return overlay
