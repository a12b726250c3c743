"""payments_sink: consumes finsight.payments.events and upserts each event into the warehouse.

At-least-once delivery, exactly-once effect: a batch is written (an upsert keyed on ``event_id``,
so a redelivered event replaces itself) and only then are its offsets committed. A task killed
between the two re-reads the batch, and the upsert absorbs the duplicates.

Fixed partition assignment, no group membership: the task reads the topic's partitions, takes its
share (slot ``FINSIGHT_TASK_SLOT`` of ``FINSIGHT_TASK_COUNT`` owns the partitions p with
p % count == slot; without a slot, all of them), reads the group's committed offsets for them and
``assign()``s them there. Offsets are still committed to the group (a commit needs the group id, not
membership), so a new task starts where the last one committed. Nothing ever rebalances: a task
that starts or stops moves no other task's partitions. During a rollout an old and a new task of
one slot both consume the same partitions for a moment; the upsert absorbs what both write. Commits
from two tasks can interleave (the old task's last one may be behind the new task's), so a task
re-commits its positions every ``HEALTH_EVERY_S``, which repairs a step back within half a second.

Configuration comes from the environment the service runner sets:
    FINSIGHT_KAFKA_BOOTSTRAP  broker address          FINSIGHT_TOPIC        topic to consume
    FINSIGHT_GROUP_ID         consumer group          FINSIGHT_SINK_PATH    DuckDB file of the sink
    FINSIGHT_HEALTH_FILE      where health is written FINSIGHT_TASK_ID      this task's id
    FINSIGHT_CONSUMER_VERSION the deployed version    FINSIGHT_SINK_TABLE   table (default below)
    FINSIGHT_TASK_SLOT, FINSIGHT_TASK_COUNT           this task's share of the partitions
    FINSIGHT_METRICS_NAMESPACE  (AWS) publish ``LastEventTime`` to this CloudWatch namespace
The health file says ``consuming`` once the task's partitions are assigned at the group's committed
offsets and its fetch loop runs (``assigned``: how many); the runner reads it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import duckdb
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

SINK_TABLE = os.environ.get("FINSIGHT_SINK_TABLE", "stream_payments_events")
HEALTH_EVERY_S = 0.5
LOCK_RETRY_S = 0.02
BROKER_TIMEOUT_S = 10.0
METRICS_EVERY_S = 15.0


def owned_partitions(partitions: list[int], slot: int | None, count: int) -> list[int]:
    """The partitions task ``slot`` of ``count`` owns (all of them without a slot)."""
    if slot is None:
        return sorted(partitions)
    return [p for p in sorted(partitions) if p % count == slot]


class Task:
    """One consumer task: poll, write a batch, commit its offsets, report health."""

    def __init__(self) -> None:
        self.task_id = os.environ["FINSIGHT_TASK_ID"]
        self.version = os.environ.get("FINSIGHT_CONSUMER_VERSION", "")
        self.topic = os.environ["FINSIGHT_TOPIC"]
        self.sink = Path(os.environ["FINSIGHT_SINK_PATH"])
        self.health = Path(os.environ["FINSIGHT_HEALTH_FILE"])
        slot = os.environ.get("FINSIGHT_TASK_SLOT", "")
        self.slot = int(slot) if slot else None
        self.count = max(int(os.environ.get("FINSIGHT_TASK_COUNT") or 1), 1)
        self.state = "starting"
        self.consumed = 0
        self.last_event_at: float | None = None
        self.stopping = False
        self.metrics = LastEventMetric.from_environment()
        self.consumer = self.connect()

    def connect(self) -> Consumer:
        return Consumer(
            {
                "bootstrap.servers": os.environ["FINSIGHT_KAFKA_BOOTSTRAP"],
                # Only to commit and read offsets: the task never joins (subscribes to) the group.
                "group.id": os.environ["FINSIGHT_GROUP_ID"],
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "client.id": self.task_id,
            }
        )

    def assign(self) -> None:
        """Assign this task's partitions at the group's committed offsets (earliest if none)."""
        metadata = self.consumer.list_topics(self.topic, timeout=BROKER_TIMEOUT_S).topics.get(
            self.topic
        )
        if metadata is None or metadata.error is not None:
            raise RuntimeError(f"topic {self.topic} not found: {metadata and metadata.error}")
        mine = owned_partitions(list(metadata.partitions), self.slot, self.count)
        wanted = [TopicPartition(self.topic, p) for p in mine]
        committed = self.consumer.committed(wanted, timeout=BROKER_TIMEOUT_S) if wanted else []
        self.consumer.assign(
            [
                TopicPartition(
                    self.topic, p.partition, p.offset if p.offset >= 0 else OFFSET_BEGINNING
                )
                for p in committed
            ]
        )

    def positions(self) -> list[TopicPartition]:
        """Where this task has consumed to, on the partitions it has consumed from."""
        return [p for p in self.consumer.position(self.consumer.assignment()) if p.offset >= 0]

    def commit(self) -> None:
        """Commit this task's positions (everything before them is written)."""
        positions = self.positions()
        if positions:
            self.consumer.commit(offsets=positions, asynchronous=False)

    def write_health(self) -> None:
        body = {
            "task_id": self.task_id,
            "pid": os.getpid(),
            "version": self.version,
            "state": self.state,
            "slot": self.slot,
            "consumed": self.consumed,
            "assigned": len(self.consumer.assignment()),
            "last_poll": time.time(),
            "last_event_at": self.last_event_at,
        }
        tmp = self.health.with_name(f".{self.health.name}.tmp")
        tmp.write_text(json.dumps(body))
        os.replace(tmp, self.health)

    def write(self, messages: list[Message]) -> None:
        latest: dict[str, tuple[object, ...]] = {}  # a batch may hold a redelivered event twice
        now = time.time()
        for message in messages:
            event = json.loads(message.value())
            latest[event["event_id"]] = (
                event["event_id"],
                event["payment_id"],
                event["account_id"],
                str(event["amount"]),
                event["currency"],
                event["status"],
                int(event["occurred_at"]),
                now,
                self.task_id,
            )
        rows = list(latest.values())
        while True:
            try:
                with duckdb.connect(str(self.sink)) as con:
                    con.execute(
                        f"CREATE TABLE IF NOT EXISTS {SINK_TABLE} (event_id VARCHAR PRIMARY KEY,"
                        " payment_id VARCHAR, account_id VARCHAR, amount DECIMAL(18, 2),"
                        " currency VARCHAR, status VARCHAR, occurred_at BIGINT,"
                        " consumed_at DOUBLE, task_id VARCHAR)"
                    )
                    # One statement per batch, the rows passed as columns: DuckDB unnests lists
                    # far faster than it binds row parameters, so the file lock is held briefly.
                    con.execute(
                        f"INSERT OR REPLACE INTO {SINK_TABLE} SELECT unnest($1), unnest($2),"
                        " unnest($3), unnest($4)::DECIMAL(18, 2), unnest($5), unnest($6),"
                        " unnest($7), unnest($8), unnest($9)",
                        [list(column) for column in zip(*rows, strict=True)],
                    )
                return
            except duckdb.IOException:  # another task holds the file lock for its batch
                time.sleep(LOCK_RETRY_S)

    def run(self) -> None:
        self.write_health()
        self.assign()
        last_health = 0.0
        while not self.stopping:
            messages = [
                m
                for m in self.consumer.consume(2000, 0.2)
                if m.error() is None or m.error().code() != KafkaError._PARTITION_EOF
            ]
            errors = [m for m in messages if m.error() is not None]
            if errors:
                raise RuntimeError(f"consume failed: {errors[0].error()}")
            self.state = "consuming"  # assigned, and a fetch came back without an error
            if messages:
                self.write(messages)
                self.commit()  # only after the write
                self.consumed += len(messages)
                self.last_event_at = time.time()
            if time.time() - last_health >= HEALTH_EVERY_S:
                self.commit()  # repairs a step back by an overlapping task's commit
                self.write_health()
                last_health = time.time()
                if self.metrics is not None:
                    self.metrics.publish(self.last_event_at)
        self.commit()  # the last batch is written: the next task starts after it
        if self.metrics is not None:
            self.metrics.publish(self.last_event_at, force=True)
        self.state = "stopped"
        self.write_health()
        self.consumer.close()

    def stop(self, signum: int, frame: object) -> None:
        self.stopping = True


class LastEventMetric:
    """Publishes the time of the last event consumed to CloudWatch (MSK has no such metric), at
    most every ``METRICS_EVERY_S``; a failed publish is logged, never fatal."""

    def __init__(self, namespace: str) -> None:
        import boto3

        self.namespace = namespace
        self.client = boto3.client("cloudwatch")
        self.dimensions = [
            {"Name": "Consumer Group", "Value": os.environ["FINSIGHT_GROUP_ID"]},
            {"Name": "Topic", "Value": os.environ["FINSIGHT_TOPIC"]},
        ]
        self.published: float | None = None
        self.at = 0.0

    @classmethod
    def from_environment(cls) -> LastEventMetric | None:
        namespace = os.environ.get("FINSIGHT_METRICS_NAMESPACE", "").strip()
        return cls(namespace) if namespace else None

    def publish(self, last_event_at: float | None, force: bool = False) -> None:
        due = force or time.time() - self.at >= METRICS_EVERY_S
        if last_event_at is None or last_event_at == self.published or not due:
            return
        try:
            self.client.put_metric_data(
                Namespace=self.namespace,
                MetricData=[
                    {
                        "MetricName": "LastEventTime",
                        "Dimensions": self.dimensions,
                        "Value": last_event_at,
                        "Unit": "Seconds",
                    }
                ],
            )
        except Exception as exc:  # noqa: BLE001 - a metric, not the stream: keep consuming
            sys.stderr.write(f"LastEventTime not published: {exc}\n")
            return
        self.published, self.at = last_event_at, time.time()


def main() -> None:
    task = Task()
    signal.signal(signal.SIGTERM, task.stop)
    signal.signal(signal.SIGINT, task.stop)
    task.run()


if __name__ == "__main__":
    main()
