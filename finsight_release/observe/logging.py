"""Structured JSON logs: every line carries release id, environment, step and run id when known."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

_configured = False


def configure_logging(stream: Any = None, level: int = logging.INFO) -> None:
    """Send JSON lines to ``stream`` (default stderr); idempotent."""
    global _configured
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(name: str = "finsight_release") -> structlog.stdlib.BoundLogger:
    """A logger; configures JSON logging on first use."""
    if not _configured:
        configure_logging()
    return structlog.get_logger(name)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Bind ``release_id``, ``environment``, ``step``, ``run_id``... to every log line inside the block."""
    with structlog.contextvars.bound_contextvars(
        **{k: v for k, v in fields.items() if v is not None}
    ):
        yield
