"""Post-deploy health of an environment's Airflow, read through its REST API: import errors of the
live bundle, the critical DAGs' last run states, and (on demand) their measured start after a smoke
run. Plain Python: the Dagster asset checks and ``ReleaseSystem.airflow_health`` call it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from finsight_release.envs.environment import Environment
from finsight_release.observe.metrics import CRITICAL_DAG_SLA_MISSED, event_record
from finsight_release.targets.airflow_api import AirflowApi
from finsight_release.targets.airflow_start import (
    START_SLA_S,
    StartCheck,
    StartResult,
    critical_dags,
    measure_starts,
)
from finsight_release.targets.mwaa import MwaaTarget
from finsight_release.targets.self_managed import SelfManagedAirflowTarget


@dataclass
class AirflowHealth:
    """What Airflow says about one environment's live release."""

    environment: str
    release_id: str | None
    configured: bool
    import_errors: list[str] = field(default_factory=list)
    last_runs: dict[str, str] = field(default_factory=dict)
    starts: list[StartResult] = field(default_factory=list)

    @property
    def failed_runs(self) -> list[str]:
        return sorted(dag for dag, state in self.last_runs.items() if state == "failed")

    @property
    def late_starts(self) -> list[str]:
        return [s.dag_id for s in self.starts if not s.ok]

    @property
    def healthy(self) -> bool:
        return not (self.import_errors or self.failed_runs or self.late_starts)

    def reason(self) -> str:
        """One line: what is wrong, or that nothing is."""
        parts = []
        if self.import_errors:
            parts.append(f"import errors: {'; '.join(self.import_errors[:3])}")
        if self.failed_runs:
            parts.append(f"last run failed: {', '.join(self.failed_runs)}")
        if self.late_starts:
            parts.append(f"no start within {START_SLA_S:.0f} s: {', '.join(self.late_starts)}")
        return "; ".join(parts) or "healthy"

    def metric_records(self) -> list[dict[str, Any]]:
        """The EMF records this reading raises: one ``CriticalDagSlaMissed`` count when a critical
        DAG did not start (or its smoke run failed) within the SLA (its CloudWatch alarm pages)."""
        if not self.late_starts:
            return []
        return [
            event_record(
                CRITICAL_DAG_SLA_MISSED,
                self.environment,
                ReleaseId=self.release_id,
                Dags=self.late_starts,
            )
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "release_id": self.release_id,
            "configured": self.configured,
            "import_errors": self.import_errors,
            "last_runs": self.last_runs,
            "starts": [s.as_dict() for s in self.starts],
            "healthy": self.healthy,
        }


def read_airflow_health(
    target: SelfManagedAirflowTarget,
    env: Environment,
    release_id: str | None,
    measure_start: bool = False,
    must_succeed: bool = True,
    last_runs: Mapping[str, str] | None = None,
) -> AirflowHealth:
    """Import errors and the critical DAGs' last runs; with ``measure_start``, a smoke run of each
    critical DAG and its start measured (it loads data: post-deploy only, never on a schedule).
    ``last_runs`` (critical DAG -> last run state) is the reading of another observer of the same
    Airflow (the Dagster checks pass dagster-airlift's), used instead of reading the runs here."""
    api = target.api(env)
    if api is None:
        return AirflowHealth(str(env), release_id, configured=False)
    return read_health(
        api,
        env,
        release_id,
        target.import_problems(env, api),
        measure_start,
        must_succeed,
        last_runs,
    )


def read_mwaa_health(
    mwaa: MwaaTarget,
    env: Environment,
    release_id: str | None,
    measure_start: bool = False,
    must_succeed: bool = True,
) -> AirflowHealth:
    """The same reading of an MWAA environment, every call through ``invoke_rest_api``."""
    return read_health(
        mwaa.api(env), env, release_id, mwaa.import_errors(env), measure_start, must_succeed
    )


def read_health(
    api: AirflowApi,
    env: Environment,
    release_id: str | None,
    import_errors: list[str],
    measure_start: bool = False,
    must_succeed: bool = True,
    last_runs: Mapping[str, str] | None = None,
) -> AirflowHealth:
    """The reading of one Airflow through ``api``, given the bundle's ``import_errors``."""
    health = AirflowHealth(str(env), release_id, configured=True, import_errors=import_errors)
    critical = critical_dags(api)
    if last_runs is not None:
        health.last_runs = dict(last_runs)
    else:
        for dag_id in critical:
            runs = api.dag_runs(dag_id)
            if runs:
                health.last_runs[dag_id] = str(runs[0]["state"])
    if measure_start and critical:
        health.starts = measure_starts(
            api,
            [StartCheck(d, must_succeed=must_succeed) for d in critical],
            datetime.now(UTC),
        )
    return health
