"""After every deployment, and on a schedule: observe the environment's raw tables and judge its
release with the post-deploy checks.

``after_deployments`` watches the ``<env>/<kind>`` deployment assets, whichever door recorded them (a
``promote_job`` / ``rollback_job`` run, or the CLI's InstanceRecorder). A new deployment in an
environment requests ``post_deploy_checks_job`` for it (unless the deploying run judged it already,
as ``promote_job`` does: metadata ``post_deploy_checks``), and ``observe_raw_tables_job`` when the
release runs a dbt project there (the sensor's first tick only notes what is deployed already: the
schedule judges that). The checks run
``ReleaseSystem.judge`` through the ``release_contracts`` asset check, so the release's health comes
from evidence (``checks.health``) and each result is an asset check evaluation carrying the release
id and environment. ``post_deploy_checks_schedule`` judges every environment that runs a release
again, which is how an inconclusive result is re-evaluated until the pipeline pauses.
"""

import json
from datetime import UTC, datetime

import dagster as dg

from finsight_release.assets.judgement_checks import judgement_run, release_contracts
from finsight_release.assets.raw_observations import observe_raw_tables_job
from finsight_release.assets.releases import deployment_key
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import JUDGED_METADATA
from finsight_release.automation.promotion_sensors import SENSOR_INTERVAL_S
from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import ArtifactKind

SENSOR_NAME = "after_deployments"
ACTOR = f"sensor:{SENSOR_NAME}"

post_deploy_checks_job = dg.define_asset_job(
    "post_deploy_checks_job",
    selection=dg.AssetSelection.checks(release_contracts),
    description="Judge the release an environment runs (config: env): dbt tests, Soda contracts, "
    "freshness; settles its health.",
)


def post_deploy_requests(
    env: Environment, key: str, tags: dict[str, str], has_warehouse: bool, judged: bool = False
) -> list[dg.RunRequest]:
    """The runs that follow a deployment of ``env``: judge its release (unless the deploying run
    judged it already) and, when it runs a dbt project (so its warehouse has a raw layer), observe
    its raw tables."""
    requests = []
    if not judged:
        requests.append(
            dg.RunRequest(
                job_name=post_deploy_checks_job.name,
                run_key=f"checks:{env}:{key}",
                run_config=judgement_run(str(env))["run_config"],
                tags={**tags, **judgement_run(str(env))["tags"]},
            )
        )
    if has_warehouse:
        requests.append(
            dg.RunRequest(
                job_name=observe_raw_tables_job.name,
                run_key=f"observe:{env}:{key}",
                run_config={"ops": {"observe_raw_tables": {"config": {"envs": [str(env)]}}}},
                tags=tags,
            )
        )
    return requests


@dg.sensor(
    name=SENSOR_NAME,
    jobs=[observe_raw_tables_job, post_deploy_checks_job],
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After each deployment: observe the environment's raw tables and run its "
    "post-deploy checks.",
)
def after_deployments(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    first = context.cursor is None  # a new sensor starts from what is deployed now
    seen: dict[str, float] = json.loads(context.cursor or "{}")
    keys = [deployment_key(env, kind) for env in Environment for kind in ArtifactKind]
    latest = context.instance.get_latest_materialization_events(keys)
    requests: list[dg.RunRequest] = []
    for env in Environment:
        events = [e for k, e in latest.items() if e is not None and k.path[0] == str(env)]
        if not events:
            continue
        newest = max(events, key=lambda e: e.timestamp)
        if newest.timestamp <= seen.get(str(env), 0.0):
            continue
        seen[str(env)] = newest.timestamp
        if first:
            continue  # deployed before the sensor ran: the schedule judges it
        materialization = newest.asset_materialization
        metadata = materialization.metadata if materialization is not None else {}
        release = str(metadata["release_id"].value) if "release_id" in metadata else ""
        judged = JUDGED_METADATA in metadata  # promote_job judged it in the run
        context.log.info(f"{env} now runs {release or 'a new release'}: observe and judge it")
        tags = {"finsight/actor": ACTOR, "finsight/environment": str(env)}
        dbt = latest.get(deployment_key(env, ArtifactKind.DBT_PROJECT))
        dbt_release = (
            dbt.asset_materialization.metadata.get("release_id")
            if dbt and dbt.asset_materialization
            else None
        )
        has_warehouse = bool(release) and getattr(dbt_release, "value", None) == release
        requests += post_deploy_requests(
            env, f"{release}:{newest.timestamp:.3f}", tags, has_warehouse, judged
        )
    cursor = json.dumps(seen, sort_keys=True)
    if not requests:
        return dg.SensorResult(skip_reason="no new deployment", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)


@dg.schedule(
    name="post_deploy_checks_schedule",
    job=post_deploy_checks_job,
    cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Judge every environment's release again (inconclusive results are re-evaluated).",
)
def post_deploy_checks_schedule(
    context: dg.ScheduleEvaluationContext, release_system: ReleaseSystemResource
) -> dg.SkipReason | list[dg.RunRequest]:
    system = release_system.system()
    running = [env for env in Environment if system.board.read(env)[0].release_id]
    if not running:
        return dg.SkipReason("no environment runs a release")
    tick = (context.scheduled_execution_time or datetime.now(UTC)).isoformat()
    return [
        dg.RunRequest(
            run_key=f"scheduled-checks:{env}:{tick}",
            run_config=judgement_run(str(env))["run_config"],
            tags={
                "finsight/actor": "schedule:post_deploy_checks_schedule",
                **judgement_run(str(env))["tags"],
            },
        )
        for env in running
    ]
