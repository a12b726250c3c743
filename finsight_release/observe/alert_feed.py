"""Which audit events page someone, and what the page says.

Every operation, whichever door it came through (CLI, sensor, job, UI), writes its audit event; the
alert sensor (``automation/alert_sensor.py``) reads the events appended since its cursor and posts
one alert per event below through the webhook (:class:`~finsight_release.observe.alerts.WebhookAlerts`).
Each alert names the release, the environment, the failing layer and the diagnosis:

==================  ===============  =========================================================
action              outcome          alert
==================  ===============  =========================================================
``validate``        ``failed``       blocking pre-deploy findings: the release cannot ship
``checks``          ``failed``       blocking post-deploy checks failed on the live release
``attribute``       ``rollback``     a blocking check failed downstream of the live change:
                                     rolling back (the path is the diagnosis)
``alert``           ``unattributed`` a blocking check failed with no live change upstream
``airflow_health``  ``unhealthy``    critical-DAG start SLA missed, or Airflow unhealthy
``rollback``        ``ok``           an environment rolled back (not the automatic restore of a
                                     failed promotion: the Deployer alerts on that itself)
``restore``         ``failed``       a failed deploy whose restore failed too (env left claimed)
``drift``           ``drift``        infrastructure drift found by a refresh-only plan
==================  ===============  =========================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from finsight_release.observe.alerts import Alert

# The failing layer of a check, by what its name starts or ends with (Dagster check names and the
# core's check ids alike); the first match wins.
_CHECK_LAYERS = (
    ("airflow_critical_start_sla", "airflow: critical DAG start SLA"),
    ("airflow", "airflow"),
    ("spark", "spark"),
    ("freshness", "freshness"),
    ("soda", "contracts"),
    ("contract", "contracts"),
    ("drift", "terraform drift"),
    ("schema", "live schema"),
)


def check_layer(check: str) -> str:
    """The platform layer a failing check belongs to (``dbt`` for dbt's generic and singular tests)."""
    name = check.rsplit(":", 1)[-1].lower()
    for marker, layer in _CHECK_LAYERS:
        if marker in name:
            return layer
    return "dbt"


def _ids(event: dict[str, Any]) -> dict[str, str]:
    details = event["details"]
    found = {"audit_seq": str(event["seq"])}
    for key in ("operation_id", "dagster_run_id"):
        if details.get(key):
            found[key] = str(details[key])
    return found


def alert_for(event: dict[str, Any]) -> Alert | None:
    """The alert an audit event raises (see the module table), or None."""
    action, outcome, details = event["action"], event["outcome"], event["details"]
    release, env = event["release_id"], event["environment"]
    base: dict[str, Any] = {"release_id": release, "environment": env, "ids": _ids(event)}
    if action == "validate" and outcome == "failed":
        counts = details.get("counts") or {}
        return Alert(
            f"release {release} failed pre-deploy validation for {env}",
            layer="validation",
            diagnosis=f"{counts.get('error', '?')} blocking findings",
            explanation=f"run `finsight-release validate --env {env}` for the findings",
            **base,
        )
    if action == "checks" and outcome == "failed":
        blocking = list(details.get("blocking") or [])
        return Alert(
            f"blocking post-deploy checks failed on {release} in {env}",
            layer=check_layer(blocking[0]) if blocking else "checks",
            diagnosis=blocking[0] if blocking else details.get("summary"),
            explanation=details.get("summary"),
            **base,
        )
    if action == "attribute" and outcome == "rollback":
        check = str(details.get("check", "?"))
        return Alert(
            f"blocking check {check} failed: rolling {env} back from {release} to "
            f"{details.get('to_release')}",
            layer=check_layer(check),
            diagnosis="regression attributed to the live release by lineage",
            explanation=" -> ".join(details.get("path") or []),
            **base,
        )
    if action == "alert" and outcome == "unattributed":
        check = str(details.get("check", "?"))
        return Alert(
            f"blocking check {check} failed",
            layer=check_layer(check),
            diagnosis=str(details.get("reason", "not attributed to a live release")),
            **base,
        )
    if action == "airflow_health" and outcome == "unhealthy":
        late = [s["dag_id"] for s in details.get("starts") or [] if not s.get("ok")]
        if late:
            return Alert(
                f"critical DAG start SLA missed in {env}: {', '.join(late)}",
                layer="airflow: critical DAG start SLA",
                diagnosis="; ".join(
                    f"{s['dag_id']}: {s.get('state')} ({s.get('detail')})"
                    for s in details["starts"]
                    if not s.get("ok")
                ),
                **base,
            )
        problems = list(details.get("import_errors") or []) + [
            f"last run of {dag} failed"
            for dag, state in (details.get("last_runs") or {}).items()
            if state == "failed"
        ]
        return Alert(
            f"Airflow unhealthy in {env} on {release}",
            layer="airflow",
            diagnosis="; ".join(problems[:5]) or "unhealthy",
            **base,
        )
    if action == "rollback" and outcome == "ok" and not details.get("automatic"):
        why = details.get("aborted_release") or details.get("cause")
        return Alert(
            f"{env} rolled back to {release} by {event['actor']}",
            layer="rollback",
            diagnosis=f"aborted {details['aborted']} of {why}" if details.get("aborted") else why,
            **base,
        )
    if action == "restore" and outcome == "failed":
        return Alert(
            f"a deploy to {env} failed and restoring {release} failed too: {env} stays claimed",
            layer="deploy: restore",
            diagnosis=details.get("error"),
            explanation=f"deploy failure: {details.get('cause')}; run `finsight-release resolve "
            f"{env} --abort --reason TEXT` or `finsight-release rollback {env}`",
            **base,
        )
    if action == "drift" and outcome == "drift":
        resources = list(details.get("resources") or [])
        return Alert(
            f"infrastructure drift in {env}: {len(resources)} resources",
            layer="terraform drift",
            diagnosis=", ".join(resources[:5]),
            explanation=f"see `finsight-release doctor --env {env}`",
            **base,
        )
    return None


def alerts_for(events: Iterable[dict[str, Any]]) -> list[Alert]:
    """The alerts of ``events`` (in their order)."""
    return [alert for alert in map(alert_for, events) if alert is not None]
