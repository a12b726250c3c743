"""dagster-airlift's view of an environment's Airflow: the critical DAGs' last run states, read through
``dagster_airlift.core.AirflowInstance`` (basic auth, Airflow's stable REST API) for the post-deploy
``airflow_critical_last_runs`` check. Dagster layer only: the core never imports dagster-airlift."""

from dagster_airlift.core import AirflowBasicAuthBackend, AirflowInstance
from dagster_airlift.core.filter import AirflowFilter

from finsight_release.envs.environment import Environment
from finsight_release.targets.airflow_api import AirflowEndpoint
from finsight_release.targets.airflow_start import CRITICAL_TAG

FINISHED = ("success", "failed")


def airflow_instance(env: Environment, endpoint: AirflowEndpoint) -> AirflowInstance:
    """The environment's Airflow as dagster-airlift sees it."""
    auth = AirflowBasicAuthBackend(endpoint.url.rstrip("/"), endpoint.username, endpoint.password)
    return AirflowInstance(auth_backend=auth, name=f"finsight_{env}")


def critical_last_runs(instance: AirflowInstance) -> dict[str, str]:
    """Each active DAG tagged ``critical`` -> the state of its newest finished run (by end date);
    DAGs that never finished a run are left out."""
    critical = [
        dag.dag_id
        for dag in instance.list_dags(AirflowFilter(airflow_tags=[CRITICAL_TAG]))
        if dag.metadata.get("is_active", True)
    ]
    if not critical:
        return {}
    newest: dict[str, tuple[str, str]] = {}  # dag -> (end date, state)
    offset = 0
    while True:
        runs, total = instance.get_dag_runs_batch(critical, states=FINISHED, offset=offset)
        for run in runs:
            ended = str(run.metadata.get("end_date") or "")
            if run.dag_id not in newest or ended >= newest[run.dag_id][0]:
                newest[run.dag_id] = (ended, str(run.metadata.get("state")))
        offset += len(runs)
        if not runs or offset >= total:
            break
    return {dag: state for dag, (_, state) in sorted(newest.items())}
