"""What a warehouse preflight reports: one problem per thing a deploy would trip over.

DuckDB and Snowflake preflights both return these; the ``warehouse.preflight`` check turns each into a
finding ``warehouse.<code>`` and ``doctor`` reads the message as its evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from finsight_release.validate.dbt.sources import SourceTable
from finsight_release.validate.finding import Severity

# The codes, each a finding id suffix: warehouse.<code>.
CONNECT = "connect"  # cannot open / log in: corrupt or locked file, bad credentials, unreachable
MISSING = "missing"  # the warehouse, database or file does not exist
GRANTS = "grants"  # the deploy identity lacks a privilege dbt needs
SOURCE_MISSING = "source_missing"  # a raw table a dbt source names is not there (or not visible)
SOURCE_UNREADABLE = "source_unreadable"  # it is there but a query on it fails (e.g. a broken view)
UNVERIFIED = "unverified"  # a step could not be checked (unsupported statement, unreadable sources)
CONFIG = "config"  # the env config lacks what a connection needs


@dataclass(frozen=True)
class WarehouseProblem:
    """One preflight result; ``table`` is set when it concerns a source table (for file and line)."""

    code: str
    severity: Severity
    message: str
    hint: str | None = None
    table: SourceTable | None = None

    @property
    def blocking(self) -> bool:
        return self.severity.is_blocking
