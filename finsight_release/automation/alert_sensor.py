"""Alerts from the audit log: failing blocking checks, rollbacks, failed restores, critical-DAG start
SLA misses and drift page through the webhook, whichever door the operation came through.

Each tick reads the audit events appended since its cursor (the last seq it handled) and posts the
alert each raises (``observe/alert_feed.py``) through :class:`WebhookAlerts` (three attempts, then
a warning in the JSON log: an unreachable webhook delays nothing but this sensor, which starts no
run and so never stands between a failure and its rollback). The first tick starts at the log's
head: history is not paged. At most ``BATCH`` events per tick, so a backlog drains over ticks.
"""

import dagster as dg

from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.automation.promotion_sensors import SENSOR_INTERVAL_S
from finsight_release.observe.alert_feed import alerts_for

SENSOR_NAME = "alert_on_audit_events"
BATCH = 50


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Post an alert for each audit event that needs a person: failing blocking checks, "
    "rollbacks, failed restores, critical-DAG start SLA misses, drift.",
)
def alert_on_audit_events(
    context: dg.SensorEvaluationContext, release_system: ReleaseSystemResource
) -> dg.SensorResult:
    system = release_system.system(actor=f"sensor:{SENSOR_NAME}")
    newest = system.audit.events(limit=1)
    head = int(newest[0]["seq"]) if newest else 0
    if context.cursor is None:
        return dg.SensorResult(skip_reason=f"starting at audit seq {head}", cursor=str(head))
    seen = int(context.cursor)
    if head <= seen:
        return dg.SensorResult(skip_reason="no new audit events")
    events = system.audit.events_in(seen + 1, min(head, seen + BATCH))
    alerts = alerts_for(events)
    delivered = sum(system.alerts.send(alert) for alert in alerts)
    cursor = str(events[-1]["seq"]) if events else str(min(head, seen + BATCH))
    context.log.info(f"{len(events)} audit events, {len(alerts)} alerts, {delivered} delivered")
    return dg.SensorResult(
        skip_reason=f"{len(alerts)} alerts ({delivered} delivered) for {len(events)} audit events",
        cursor=cursor,
    )
