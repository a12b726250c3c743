"""Audit logs to test against: SQLite and a real PostgreSQL, each anchored in a local store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from finsight_release.audit.log import AuditLog
from finsight_release.store.local import LocalObjectStore
from tests.postgres_fixture import postgres_url  # noqa: F401 - fixture


@pytest.fixture(params=["sqlite", "postgres"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditLog]:
    """An empty audit log anchored in ``tmp_path/anchor``: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        base = request.getfixturevalue("postgres_url")
        schema = f"t_{uuid.uuid4().hex[:8]}"
        url = f"{base}?options=-csearch_path%3D{schema}"
        with create_engine(base).begin() as conn:  # each test gets its own schema
            conn.execute(text(f"create schema {schema}"))
    yield AuditLog(url, anchor=LocalObjectStore(tmp_path / "anchor"))
