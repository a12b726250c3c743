"""Sensors that drive the pipeline: promote dev and staging when the pipeline's rules say so.

Each tick asks the core (``ReleaseSystem.decide_promotion``) what the environment should run next.
A promotion is a run of ``promote_job`` (run key ``<env>:<release>``, so a release is requested once
per environment however many ticks see it); a wait is the tick's skip reason. Both go to the audit
trail when the decision changes (the cursor keeps the last reason). prod has no sensor: it is
promoted by a person's command until approvals and the release window are automated. A person racing
a sensor for one environment is settled by the environment claim: one of them is refused as busy.
"""

import os
from datetime import UTC, datetime

import dagster as dg

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.jobs import promote_job
from finsight_release.envs.environment import Environment

AUTOMATED = (Environment.DEV, Environment.STAGING)
# How often the daemon evaluates the pipeline sensors (lower in tests and the end-to-end benchmark).
SENSOR_INTERVAL_S = int(os.environ.get("FINSIGHT_SENSOR_INTERVAL_S", "30"))


def sensor_name(env: Environment) -> str:
    return f"promote_{env}_when_ready"


def promotion_sensor(env: Environment) -> dg.SensorDefinition:
    """The sensor promoting ``env`` by the pipeline's rules."""

    @dg.sensor(
        name=sensor_name(env),
        job=promote_job,
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Promote {env} when the pipeline's rules say a release is ready for it.",
    )
    def _sensor(
        context: dg.SensorEvaluationContext, release_system: ReleaseSystemResource
    ) -> dg.SensorResult:
        actor = f"sensor:{sensor_name(env)}"
        system = release_system.system()
        decision = system.decide_promotion(env, datetime.now(UTC), actor, context.cursor)
        context.log.info(f"{env}: {'promote' if decision.promote else 'wait'}: {decision.reason}")
        if not decision.promote:
            return dg.SensorResult(skip_reason=decision.reason, cursor=decision.reason)
        request = dg.RunRequest(
            run_key=f"{env}:{decision.release_id}",
            run_config={
                "ops": {
                    "promote_op": {"config": {"env": str(env), "release_id": decision.release_id}}
                }
            },
            tags={"finsight/actor": actor, "finsight/decision": decision.reason},
        )
        return dg.SensorResult(run_requests=[request], cursor=decision.reason)

    return _sensor


promotion_sensors = [promotion_sensor(env) for env in AUTOMATED]
