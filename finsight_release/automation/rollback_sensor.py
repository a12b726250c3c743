"""Failing checks roll back the release upstream of them.

Each tick reads the latest evaluation of every asset check in the code location. A new failure of
severity ERROR (a blocking check: dbt tests, contracts, freshness, the detectors) is traced through the
asset graph to the nearest deployment asset the environment's live release changed
(``pipeline.attribution``). Attributed, the core marks the release unhealthy and audits the path, and
the sensor requests ``rollback_job`` back to the release the environment ran before, tagged with the
path; not attributed, the failure is audited as an alert and nothing rolls back. The cursor is the
newest check-execution storage id seen, so each failure is judged once.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from finsight_release.assets.releases import deployment_key
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import rollback_job
from finsight_release.automation.promotion_sensors import SENSOR_INTERVAL_S
from finsight_release.envs.environment import Environment
from finsight_release.pipeline.attribution import LiveChange, attribute, live_change
from finsight_release.system import ReleaseSystem

SENSOR_NAME = "rollback_on_failed_checks"


def lineage(graph: BaseAssetGraph[Any]) -> dict[str, set[str]]:
    """Each asset's parents, by ``a/b`` key strings."""
    return {
        key.to_user_string(): {parent.to_user_string() for parent in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }


def changed_assets(system: ReleaseSystem) -> Mapping[str, LiveChange]:
    """Each deployment asset the live release of its environment changed."""
    changed: dict[str, LiveChange] = {}
    for env in Environment:
        change = live_change(system.repo, system.board, env)
        if change is None:
            continue
        for kind in change.kinds:
            changed[deployment_key(env, kind).to_user_string()] = change
    return changed


@dg.sensor(
    name=SENSOR_NAME,
    job=rollback_job,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Roll an environment back when a blocking check fails downstream of its live change.",
)
def rollback_on_failed_checks(
    context: dg.SensorEvaluationContext, release_system: ReleaseSystemResource
) -> dg.SensorResult:
    if context.repository_def is None:
        return dg.SensorResult(skip_reason="no repository to read the asset graph from")
    graph = context.repository_def.asset_graph
    records = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        list(graph.asset_check_keys)
    )
    seen = int(context.cursor or 0)
    fresh = [r for r in records.values() if r.id > seen]
    if not fresh:
        return dg.SensorResult(skip_reason="no new check results")
    actor = f"sensor:{SENSOR_NAME}"
    system = release_system.system(actor=actor)
    parents, changed = lineage(graph), changed_assets(system)
    requests = []
    for record in fresh:
        evaluation = record.evaluation
        if record.status != AssetCheckExecutionRecordStatus.FAILED or evaluation is None:
            continue
        if evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        failing = evaluation.asset_key.to_user_string()
        check = f"{failing}:{evaluation.check_name}"
        attributed = attribute(failing, parents, changed, evaluation.partition)
        attribution = system.judge_failed_check(check, attributed, actor)
        context.log.info(f"{check}: {attribution.describe() if attribution else 'not attributed'}")
        if attribution is None:
            continue
        change = attribution.change
        requests.append(
            dg.RunRequest(
                run_key=f"rollback:{change.env}:{change.release_id}",
                run_config={
                    "ops": {
                        "rollback_op": {
                            "config": {
                                "env": str(change.env),
                                "to_release": change.previous_release,
                            }
                        }
                    }
                },
                tags={
                    "finsight/actor": actor,
                    "finsight/attribution": " -> ".join(attribution.path)[:200],
                    "finsight/failed_check": check[:200],
                },
            )
        )
    cursor = str(max(r.id for r in fresh))
    if not requests:
        return dg.SensorResult(skip_reason="no failure attributed to a live release", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
