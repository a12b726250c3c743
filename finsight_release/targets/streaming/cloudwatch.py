"""A consumer service's lag and last-event time in AWS mode, read from CloudWatch.

Lag is what Amazon MSK publishes at its DEFAULT monitoring level: ``SumOffsetLag`` (the group's
offset lag summed over the topic's partitions, the same quantity local mode reads from the broker)
in namespace ``AWS/Kafka`` with the dimensions ``Cluster Name``, ``Consumer Group`` and ``Topic``.
MSK emits it only for a group that is STABLE or EMPTY; the reference consumer holds no membership
(fixed assignment, offsets committed to the group), so its group is EMPTY and always measured.

MSK has no last-event metric, so the consumer publishes one (``FINSIGHT_METRICS_NAMESPACE`` set):
``LastEventTime`` in namespace ``Finsight/Streaming`` with the dimensions ``Consumer Group`` and
``Topic``, its value the epoch second at which a task last consumed an event. Both are read with one
``GetMetricData`` call over the last ``window_s``: the newest lag datapoint, the largest last-event
time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from finsight_release.errors import StreamingDeployError

MSK_NAMESPACE = "AWS/Kafka"
LAG_METRIC = "SumOffsetLag"
CONSUMER_NAMESPACE = "Finsight/Streaming"
LAST_EVENT_METRIC = "LastEventTime"
PERIOD_S = 60  # MSK publishes its metrics once a minute


class ConsumerMetrics:
    """Reads a consumer group's lag and last-event time from CloudWatch."""

    def __init__(
        self,
        cluster_name: str,
        client: Any | None = None,
        namespace: str = CONSUMER_NAMESPACE,
        window_s: float = 900.0,
    ) -> None:
        import boto3

        self.cluster_name = cluster_name
        self.client = client or boto3.client("cloudwatch")
        self.namespace = namespace
        self.window_s = window_s

    def _query(
        self, query_id: str, namespace: str, metric: str, dimensions: dict[str, str], stat: str
    ) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": namespace,
                    "MetricName": metric,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                },
                "Period": PERIOD_S,
                "Stat": stat,
            },
            "ReturnData": True,
        }

    def reading(self, group: str, topic: str) -> tuple[int | None, float | None]:
        """The newest ``SumOffsetLag`` of ``group`` on ``topic`` and the latest event time its tasks
        published (None for a metric with no datapoint in the window)."""
        from botocore.exceptions import BotoCoreError, ClientError

        lag = {"Cluster Name": self.cluster_name, "Consumer Group": group, "Topic": topic}
        last = {"Consumer Group": group, "Topic": topic}
        end = datetime.now(UTC) + timedelta(seconds=PERIOD_S)  # the current minute included
        try:
            found = self.client.get_metric_data(
                MetricDataQueries=[
                    self._query("lag", MSK_NAMESPACE, LAG_METRIC, lag, "Maximum"),
                    self._query("last", self.namespace, LAST_EVENT_METRIC, last, "Maximum"),
                ],
                StartTime=end - timedelta(seconds=self.window_s),
                EndTime=end,
                ScanBy="TimestampDescending",
            )
        except (BotoCoreError, ClientError) as exc:
            raise StreamingDeployError(
                f"streaming/consumer: CloudWatch metrics of {group} on {topic} unreadable: {exc}"
            ) from exc
        series = {r["Id"]: r for r in found.get("MetricDataResults", [])}
        newest_lag = _newest(series.get("lag", {}))
        last_values = series.get("last", {}).get("Values", [])
        return (
            None if newest_lag is None else int(newest_lag),
            max(last_values) if last_values else None,
        )


def _newest(result: dict[str, Any]) -> float | None:
    """The value at the latest timestamp of one GetMetricData result."""
    pairs = list(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
    return max(pairs, key=lambda p: p[0])[1] if pairs else None
