"""payments_sink: consumes finsight.payments.events and upserts each event into the warehouse.

At-least-once delivery, exactly-once effect: a batch is written (an upsert keyed on ``event_id``,
so a redelivered event replaces itself) and only then are its offsets committed. A task killed
between the two re-reads the batch, and the upsert absorbs the duplicates.

Configuration comes from the environment the service runner sets:
    FINSIGHT_KAFKA_BOOTSTRAP  broker address          FINSIGHT_TOPIC        topic to consume
    FINSIGHT_GROUP_ID         consumer group          FINSIGHT_SINK_PATH    DuckDB file of the sink
    FINSIGHT_HEALTH_FILE      where health is written FINSIGHT_TASK_ID      this task's id
    FINSIGHT_CONSUMER_VERSION the deployed version    FINSIGHT_SINK_TABLE   table (default below)
The health file says ``consuming`` once the task has joined its group; the runner reads it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import duckdb
from confluent_kafka import Consumer, KafkaError, Message

SINK_TABLE = os.environ.get("FINSIGHT_SINK_TABLE", "stream_payments_events")
HEALTH_EVERY_S = 0.5
LOCK_RETRY_S = 0.02


class Task:
    """One consumer task: poll, write a batch, commit its offsets, report health."""

    def __init__(self) -> None:
        self.task_id = os.environ["FINSIGHT_TASK_ID"]
        self.version = os.environ.get("FINSIGHT_CONSUMER_VERSION", "")
        self.sink = Path(os.environ["FINSIGHT_SINK_PATH"])
        self.health = Path(os.environ["FINSIGHT_HEALTH_FILE"])
        self.state = "starting"
        self.consumed = 0
        self.last_event_at: float | None = None
        self.stopping = False
        self.consumer = self.connect()

    def connect(self) -> Consumer:
        return Consumer(
            {
                "bootstrap.servers": os.environ["FINSIGHT_KAFKA_BOOTSTRAP"],
                "group.id": os.environ["FINSIGHT_GROUP_ID"],
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 1000,
                # The rebalance timeout: a member that vanished without leaving the group holds a
                # rebalance (and every partition) at most this long, not the 5-minute default.
                "max.poll.interval.ms": 10000,
                "client.id": self.task_id,
            }
        )

    def subscribe(self) -> None:
        self.consumer.subscribe([os.environ["FINSIGHT_TOPIC"]], on_assign=self.on_assign)

    def on_assign(self, consumer: Consumer, partitions: list[Any]) -> None:
        self.state = "consuming"
        self.write_health()

    def write_health(self) -> None:
        body = {
            "task_id": self.task_id,
            "pid": os.getpid(),
            "version": self.version,
            "state": self.state,
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
        self.subscribe()
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
            if messages:
                self.write(messages)
                self.consumer.commit(asynchronous=False)  # only after the write
                self.consumed += len(messages)
                self.last_event_at = time.time()
            if time.time() - last_health >= HEALTH_EVERY_S:
                self.write_health()
                last_health = time.time()
        self.state = "stopped"
        self.write_health()
        self.consumer.close()  # leaves the group at once: its partitions move without a timeout

    def stop(self, signum: int, frame: object) -> None:
        self.stopping = True


def main() -> None:
    task = Task()
    signal.signal(signal.SIGTERM, task.stop)
    signal.signal(signal.SIGINT, task.stop)
    task.run()


if __name__ == "__main__":
    main()
