"""The Kafka broker as a rollout sees it: is it up, and how far a consumer group is behind a topic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from finsight_release.errors import StreamingDeployError

TIMEOUT_S = 3.0


@dataclass(frozen=True)
class GroupPosition:
    """A group's committed offsets on a topic against the topic's end, summed over partitions."""

    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(self.end - self.committed, 0)


class BrokerProbe:
    """Reads a broker's metadata and a group's committed offsets (never joins the group)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._clients: dict[str, Any] = {}

    def _client(self, group: str) -> Any:
        from confluent_kafka import Consumer

        if group not in self._clients:
            self._clients[group] = Consumer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "group.id": group,
                    "enable.auto.commit": False,
                    "socket.timeout.ms": int(TIMEOUT_S * 1000),
                }
            )
        return self._clients[group]

    def check_reachable(self) -> None:
        """StreamingDeployError naming the broker when it does not answer within a few seconds."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 3000})
        try:
            admin.list_topics(timeout=TIMEOUT_S)
        except KafkaException as exc:
            raise StreamingDeployError(
                f"streaming/consumer: broker {self.bootstrap} is down or unreachable ({exc})"
            ) from exc

    def position(self, group: str, topic: str) -> GroupPosition:
        """Committed offsets of ``group`` and end offsets of ``topic`` (0 for an unknown topic)."""
        from confluent_kafka import TopicPartition

        client = self._client(group)
        metadata = client.list_topics(topic, timeout=TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return GroupPosition(0, 0)
        partitions = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
        committed = client.committed(partitions, timeout=TIMEOUT_S)
        end = sum(client.get_watermark_offsets(p, timeout=TIMEOUT_S)[1] for p in partitions)
        done = sum(max(p.offset, 0) for p in committed)
        return GroupPosition(done, end)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
