"""Failure and SLA-miss callbacks: publish one line to the platform's SNS alert topic.

The topic ARN is read from the ``finsight_alerts_topic_arn`` Variable when a callback runs (never at parse
time). A failing notification is logged and swallowed: an alert outage must not fail the task twice.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
ALERTS_TOPIC_VARIABLE = "finsight_alerts_topic_arn"


def _publish(subject: str, message: str) -> None:
    from airflow.models import Variable
    from airflow.providers.amazon.aws.hooks.sns import SnsHook

    topic_arn = Variable.get(ALERTS_TOPIC_VARIABLE, default_var=None)
    if not topic_arn:
        log.warning("Variable %s is not set; alert not sent: %s", ALERTS_TOPIC_VARIABLE, message)
        return
    try:
        SnsHook(aws_conn_id="aws_default").publish_to_target(target_arn=topic_arn, message=message, subject=subject)
    except Exception:  # noqa: BLE001 - see module docstring
        log.exception("could not publish alert to %s: %s", topic_arn, message)


def notify_task_failure(context: dict[str, Any]) -> None:
    """on_failure_callback: one alert naming the DAG, task, interval and log URL."""
    ti = context["task_instance"]
    message = (
        f"[{ti.dag_id}] task {ti.task_id} failed (try {ti.try_number}) for interval "
        f"{context.get('data_interval_start')} - {context.get('data_interval_end')}: {ti.log_url}"
    )
    _publish(f"Airflow failure: {ti.dag_id}", message)


def notify_sla_miss(
    dag: Any, task_list: str, blocking_task_list: str, slas: list[Any], blocking_tis: list[Any]
) -> None:
    """sla_miss_callback (Airflow 2.x signature): one alert naming the DAG and the late tasks."""
    late = ", ".join(sorted({sla.task_id for sla in slas}))
    _publish(f"Airflow SLA miss: {dag.dag_id}", f"[{dag.dag_id}] SLA missed by: {late}; blocking: {blocking_task_list}")
