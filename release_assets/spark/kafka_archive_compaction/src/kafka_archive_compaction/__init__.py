"""Compacts archived Kafka records to the latest value per key, dropping tombstones."""

__version__ = "1.0.0"
