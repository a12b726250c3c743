"""Post-deploy Airflow health as asset checks on each ``<env>/airflow_dags`` deployment asset: import
errors, the critical DAGs' last runs, and their start SLA (a smoke run each, measured). Thin: the last
run states are observed through dagster-airlift's ``AirflowInstance`` (``assets/airflow_view.py``);
the core's ``ReleaseSystem.airflow_health`` reads the rest through Airflow's REST API, audits, and
marks the release unhealthy in the environment when a check fails. Run by ``airflow_health_job`` after
a deploy (its smoke runs load data, so it has no schedule); an environment without an Airflow API
passes as not configured."""

from collections.abc import Iterator

import dagster as dg

from finsight_release.assets.airflow_view import airflow_instance, critical_last_runs
from finsight_release.assets.releases import deployment_key
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import ArtifactKind

IMPORT_ERRORS = "airflow_import_errors"
LAST_RUNS = "airflow_critical_last_runs"
START_SLA = "airflow_critical_start_sla"


def airflow_health_check(env: Environment) -> dg.AssetChecksDefinition:
    """The three checks of ``env``'s DAG bundle, computed from one reading of Airflow."""
    key = deployment_key(env, ArtifactKind.AIRFLOW_DAGS)
    specs = [
        dg.AssetCheckSpec(
            IMPORT_ERRORS, asset=key, description="no import error in the live bundle"
        ),
        dg.AssetCheckSpec(LAST_RUNS, asset=key, description="no critical DAG's last run failed"),
        dg.AssetCheckSpec(
            START_SLA, asset=key, description="each critical DAG's smoke run starts within 10 min"
        ),
    ]

    @dg.multi_asset_check(specs=specs, name=f"{env}_airflow_health", can_subset=True)
    def _check(
        context: dg.AssetCheckExecutionContext, release_system: ReleaseSystemResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = {k.name for k in context.selected_asset_check_keys}
        system = release_system.system()
        # The last run states as dagster-airlift's AirflowInstance observes them (same endpoint).
        endpoint = getattr(system.folder_target, "endpoints", {}).get(env)
        last_runs = (
            critical_last_runs(airflow_instance(env, endpoint))
            if endpoint is not None and LAST_RUNS in selected
            else None
        )
        health = system.airflow_health(
            env, measure_start=START_SLA in selected, last_runs=last_runs
        )
        on_mwaa = system.mwaa_target is not None and env in system.mwaa_target.environments
        observer = "dagster-airlift" if last_runs is not None else ""
        base = {
            "release_id": health.release_id or "",
            "configured": health.configured,
            "last_runs_observed_by": "mwaa invoke_rest_api" if on_mwaa else observer,
        }
        verdicts = {
            IMPORT_ERRORS: (health.import_errors, "import errors"),
            LAST_RUNS: (health.failed_runs, "critical DAGs whose last run failed"),
            START_SLA: (health.late_starts, "critical DAGs not started in 10 min"),
        }
        for name in sorted(selected):
            problems, what = verdicts[name]
            metadata: dict[str, dg.RawMetadataValue] = {
                **base,
                "problems": "\n".join(problems[:20]),
            }
            if name == LAST_RUNS:
                metadata["last_runs"] = dg.MetadataValue.json(health.last_runs)
            if name == START_SLA:
                metadata["started_s"] = dg.MetadataValue.json(
                    {s.dag_id: s.started_s for s in health.starts}
                )
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=name,
                passed=not problems,
                metadata=metadata,
                description=(
                    f"{len(problems)} {what}"
                    if problems
                    else ("no Airflow API configured" if not health.configured else f"no {what}")
                ),
            )

    return _check


airflow_health_checks = [airflow_health_check(env) for env in Environment]
airflow_health_job = dg.define_asset_job(
    "airflow_health_job",
    selection=dg.AssetSelection.checks(*airflow_health_checks),
    description="Post-deploy Airflow health (import errors, last runs, start SLA) of every environment.",
)
