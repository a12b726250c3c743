"""The reference consumer (payments_sink) on a real broker (Tansu) on loopback: task slots split the
topic's partitions with no group membership, a redelivered event is one row holding its latest
content, and a task started later resumes from the group's committed offsets."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import duckdb
from confluent_kafka import Producer

from finsight_release.targets.streaming.local_service import LocalConsumerService, TaskHandle
from tests.targets.streaming.stream_world import (
    PARTITIONS,
    TOPIC,
    Broker,
    consumer_version,
    payment_event,
    produce,
    reference_spec,
    wait_caught_up,
)

V1 = "1" * 16


def wait_consuming(service: LocalConsumerService, task: TaskHandle) -> dict[str, object]:
    """The task's health once it says it is consuming."""
    deadline = time.monotonic() + 20
    while not service.is_healthy(task):
        assert time.monotonic() < deadline, service.last_words(task)
        time.sleep(0.1)
    body: dict[str, object] = json.loads(service.health_path(task.task_id).read_text())
    return body


def amounts(sink: Path) -> dict[str, tuple[str, str]]:
    with duckdb.connect(str(sink), read_only=True) as con:
        rows = con.execute(
            "SELECT event_id, amount, task_id FROM stream_payments_events"
        ).fetchall()
    return {str(e): (str(a), str(t)) for e, a, t in rows}


def test_slots_split_the_partitions_redeliveries_upsert_and_a_new_task_resumes_committed(
    tmp_path: Path, broker: Broker
) -> None:
    code = consumer_version(tmp_path / "code", "v1")
    service = LocalConsumerService(
        tmp_path / "svc", reference_spec(desired=2), broker.bootstrap, tmp_path / "sink.duckdb"
    )
    group = service.spec.group_id
    first = [service.start_task(V1, code, slot) for slot in (0, 1)]
    try:
        shares = [wait_consuming(service, t)["assigned"] for t in first]
        assert shares == [PARTITIONS // 2, PARTITIONS // 2]  # slot k owns p % 2 == k: all, once

        ids = produce(broker.bootstrap, 60)
        # The first 10 events delivered again with a new amount: one row each, the later content.
        producer = Producer({"bootstrap.servers": broker.bootstrap})
        for event_id in ids[:10]:
            body = json.loads(payment_event(event_id))
            producer.produce(TOPIC, key=event_id, value=json.dumps({**body, "amount": "99.00"}))
        producer.flush(10)
        wait_caught_up(broker.bootstrap, group)
        service.stop_tasks(first)
        rows = amounts(service.sink_path)
        assert set(rows) == set(ids)
        assert {rows[i][0] for i in ids[:10]} == {"99.00"}
        assert {rows[i][0] for i in ids[10:]} == {"12.50"}

        # A task started after they stopped (one slot of one: every partition) reads only what
        # arrived since: the group's committed offsets, not the beginning.
        later = produce(broker.bootstrap, 20)
        one_task = replace(service.spec, desired_count=1)  # the same group
        solo = LocalConsumerService(tmp_path / "svc", one_task, broker.bootstrap, service.sink_path)
        resumed = solo.start_task(V1, code, 0)
        first.append(resumed)
        assert wait_consuming(solo, resumed)["assigned"] == PARTITIONS
        wait_caught_up(broker.bootstrap, group)
        solo.stop_tasks([resumed])
        rows = amounts(service.sink_path)
        assert {rows[i][1] for i in later} == {resumed.task_id}
        assert resumed.task_id not in {rows[i][1] for i in ids}
    finally:
        service.stop_tasks(first)
