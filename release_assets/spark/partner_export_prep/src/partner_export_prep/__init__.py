"""Prepares per-partner settlement extracts without PII, partitioned by partner."""

__version__ = "1.2.1"
