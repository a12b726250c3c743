"""AWS mode's consumer lag and last-event time, read from CloudWatch on moto's server (loopback):
MSK's SumOffsetLag as MSK publishes it, and the LastEventTime the reference consumer publishes
itself while it consumes from a real broker (Tansu)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from finsight_release.envs.environment import Environment
from finsight_release.errors import StreamingDeployError
from finsight_release.settings import Mode, load_settings
from finsight_release.targets.streaming.cloudwatch import (
    CONSUMER_NAMESPACE,
    LAG_METRIC,
    MSK_NAMESPACE,
    ConsumerMetrics,
)
from finsight_release.targets.streaming.configuration import runtime_for
from finsight_release.targets.streaming.ecs import EcsConsumerRuntime
from finsight_release.targets.streaming.local_service import LocalConsumerService
from finsight_release.targets.streaming.rollout import RolloutPolicy
from tests.targets.streaming.stream_world import (
    consumer_version,
    free_port,
    produce,
    reference_spec,
    start_broker,
    wait_caught_up,
)

TOPIC = "finsight.payments.events"


def put_lag(cluster: str, group: str, value: float, minutes_ago: int) -> None:
    """One SumOffsetLag datapoint, with MSK's namespace and dimensions."""
    boto3.client("cloudwatch").put_metric_data(
        Namespace=MSK_NAMESPACE,
        MetricData=[
            {
                "MetricName": LAG_METRIC,
                "Dimensions": [
                    {"Name": "Cluster Name", "Value": cluster},
                    {"Name": "Consumer Group", "Value": group},
                    {"Name": "Topic", "Value": TOPIC},
                ],
                "Timestamp": datetime.now(UTC) - timedelta(minutes=minutes_ago),
                "Value": value,
                "Unit": "Count",
            }
        ],
    )


def test_an_ecs_service_reads_msk_lag_and_the_published_last_event_time(
    moto_server: str, tmp_path: Path
) -> None:
    cluster, group = f"msk-{tmp_path.name}", f"finsight.payments_sink.{tmp_path.name}"
    put_lag(cluster, group, 500, minutes_ago=3)
    put_lag(cluster, group, 42, minutes_ago=1)  # the newest: the lag now
    put_lag(cluster, f"{group}.other", 7, minutes_ago=0)  # another group: not this service's
    put_lag(f"{cluster}-b", group, 9, minutes_ago=0)  # the same group on another cluster
    consumed_at = time.time() - 30
    boto3.client("cloudwatch").put_metric_data(
        Namespace=CONSUMER_NAMESPACE,
        MetricData=[
            {
                "MetricName": "LastEventTime",
                "Dimensions": [
                    {"Name": "Consumer Group", "Value": group},
                    {"Name": "Topic", "Value": TOPIC},
                ],
                "Value": consumed_at,
                "Unit": "Seconds",
            }
        ],
    )
    spec = replace(reference_spec(), group_id=group)
    runtime = EcsConsumerRuntime(
        spec, "finsight-dev", "image", RolloutPolicy(), metrics=ConsumerMetrics(cluster)
    )
    lag, last = runtime.reading()
    assert lag == 42 and last == pytest.approx(consumed_at, abs=0.01)

    assert ConsumerMetrics(cluster).reading("finsight.nobody", TOPIC) == (None, None)


def test_aws_mode_wires_the_msk_cluster_and_an_unreachable_cloudwatch_is_an_unknown_reading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = load_settings(home=tmp_path / "home", mode=Mode.AWS)
    environ = {
        "FINSIGHT_ECS_CLUSTER_DEV": "finsight-dev",
        "FINSIGHT_STREAM_CONSUMER_IMAGE": "image@sha256:" + "1" * 64,
        "FINSIGHT_MSK_CLUSTER_DEV": "finsight-msk-dev",
    }
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    runtime = runtime_for(settings, Environment.DEV, reference_spec(), environ)
    assert isinstance(runtime, EcsConsumerRuntime) and runtime.metrics is not None
    assert runtime.metrics.cluster_name == "finsight-msk-dev"
    without = runtime_for(
        settings, Environment.DEV, reference_spec(), {**environ, "FINSIGHT_MSK_CLUSTER_DEV": ""}
    )
    assert isinstance(without, EcsConsumerRuntime) and without.metrics is None

    down = boto3.client(
        "cloudwatch",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    metrics = ConsumerMetrics("finsight-msk-dev", client=down)
    with pytest.raises(StreamingDeployError, match=r"streaming/consumer: CloudWatch metrics of g"):
        metrics.reading("g", TOPIC)
    runtime.metrics = metrics
    assert runtime.reading() == (None, None)


def test_the_reference_consumer_publishes_its_last_event_time(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FINSIGHT_METRICS_NAMESPACE", CONSUMER_NAMESPACE)
    broker = start_broker()
    spec = reference_spec(desired=1)
    service = LocalConsumerService(tmp_path / "svc", spec, broker.bootstrap, tmp_path / "s.duckdb")
    try:
        task = service.start_task("1" * 16, consumer_version(tmp_path / "code", "v1"), 0)
        produce(broker.bootstrap, 20)
        wait_caught_up(broker.bootstrap, spec.group_id)
        service.stop_tasks([task])  # a stopping task publishes what it has not yet
        health = json.loads(service.health_path(task.task_id).read_text())
    finally:
        service.stop_tasks(service.read_state().tasks)
        broker.stop()
    lag, last = ConsumerMetrics("no-msk-here").reading(spec.group_id, TOPIC)
    assert lag is None  # MSK publishes lag; the test broker does not
    assert last == pytest.approx(health["last_event_at"], abs=0.01)
