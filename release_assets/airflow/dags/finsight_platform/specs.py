"""Source definitions: the YAML files under ``dags/sources/`` read into frozen, validated specs.

Pure Python (PyYAML only, no Airflow), so the load SQL and its tests can use the same specs as the DAGs.

One YAML file describes one source system (a PostgreSQL database or an S3 prefix family). Its ``groups``
become one ingestion DAG each; every table of a group is loaded by one task chain of that DAG:

    source: core_banking            # raw table names are <source>__<table>
    kind: postgres                  # postgres | s3
    conn_id: postgres_core_banking  # Airflow connection of the source (postgres only)
    schema: public                  # PostgreSQL schema the tables live in (postgres only)
    owner: team-core-banking-data
    groups:
      transactions:
        schedule: "7 * * * *"
        critical: true              # tag ``critical`` + an SLA on every task
        sla_minutes: 45
        tables:
          transactions:
            primary_key: [transaction_id]
            incremental_column: updated_at     # postgres only
            columns: {transaction_id: BIGINT, ...}
            # s3 only: prefix: events/card_authorizations/   file_format: parquet

Files are parsed once per process (``functools.lru_cache``): the scheduler's DAG processor imports each
ingestion DAG file often, and parsing YAML with libyaml once keeps a file's import well under a second.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SOURCES_DIR = Path(__file__).resolve().parent.parent / "sources"
SOURCE_KINDS = ("postgres", "s3")
FILE_FORMATS = ("csv", "parquet", "json")
FILE_NAME_COLUMN = "_file_name"

# libyaml makes loading the ~2,500 table definitions about 10x faster than the pure-Python loader.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SourceDefinitionError(ValueError):
    """A source YAML file is missing a key or holds a value the factory cannot use."""


@dataclass(frozen=True)
class TableSpec:
    """One source table and how it lands in the raw layer.

    Attributes:
        source: Source system name, e.g. ``core_banking`` or ``s3_market``.
        table: Table name inside the source, e.g. ``transactions``.
        kind: ``postgres`` (MERGE on primary key) or ``s3`` (COPY keyed by file name).
        primary_key: Primary key columns.
        columns: Ordered ``(name, type)`` pairs; for S3 tables this includes ``_file_name``.
        incremental_column: Column bounding the extract window (postgres only).
        prefix: Key prefix of the files (s3 only).
        file_format: ``csv``, ``parquet`` or ``json`` (s3 only).
    """

    source: str
    table: str
    kind: str
    primary_key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    incremental_column: str | None = None
    prefix: str | None = None
    file_format: str | None = None

    @property
    def raw_table(self) -> str:
        """Name of the raw table in the local warehouse, ``<source>__<table>``."""
        return f"{self.source}__{self.table}"

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in definition order."""
        return tuple(name for name, _ in self.columns)

    @property
    def data_columns(self) -> tuple[tuple[str, str], ...]:
        """Columns read from the files of an S3 table (everything but ``_file_name``)."""
        return tuple((name, type_) for name, type_ in self.columns if name != FILE_NAME_COLUMN)


@dataclass(frozen=True)
class GroupSpec:
    """A group of tables of one source, loaded by one DAG."""

    name: str
    schedule: str
    critical: bool
    sla_minutes: int | None
    tables: tuple[TableSpec, ...]


@dataclass(frozen=True)
class SourceSpec:
    """One source system and its table groups."""

    name: str
    kind: str
    owner: str
    conn_id: str | None
    schema: str | None
    groups: tuple[GroupSpec, ...]

    def tables(self) -> Iterator[TableSpec]:
        """Every table of every group."""
        for group in self.groups:
            yield from group.tables


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise SourceDefinitionError(f"{where}: missing key '{key}'")
    return mapping[key]


def _table_spec(source: str, kind: str, name: str, raw: Mapping[str, Any], where: str) -> TableSpec:
    columns = tuple((str(col), str(type_)) for col, type_ in _require(raw, "columns", where).items())
    primary_key = tuple(_require(raw, "primary_key", where))
    missing = [col for col in primary_key if col not in dict(columns)]
    if missing:
        raise SourceDefinitionError(f"{where}: primary key column(s) {missing} not in columns")
    if kind == "postgres":
        incremental = _require(raw, "incremental_column", where)
        if incremental not in dict(columns):
            raise SourceDefinitionError(f"{where}: incremental column '{incremental}' not in columns")
        return TableSpec(source, name, kind, primary_key, columns, incremental_column=incremental)
    file_format = _require(raw, "file_format", where)
    if file_format not in FILE_FORMATS:
        raise SourceDefinitionError(f"{where}: file_format '{file_format}' is not one of {FILE_FORMATS}")
    if FILE_NAME_COLUMN not in dict(columns):
        raise SourceDefinitionError(f"{where}: S3 tables need a '{FILE_NAME_COLUMN}' column")
    return TableSpec(
        source, name, kind, primary_key, columns, prefix=_require(raw, "prefix", where), file_format=file_format
    )


def _group_spec(source: str, kind: str, name: str, raw: Mapping[str, Any], where: str) -> GroupSpec:
    tables = tuple(
        _table_spec(source, kind, table, spec, f"{where}.{table}")
        for table, spec in _require(raw, "tables", where).items()
    )
    critical = bool(raw.get("critical", False))
    sla_minutes = raw.get("sla_minutes")
    if critical and sla_minutes is None:
        raise SourceDefinitionError(f"{where}: critical groups need 'sla_minutes'")
    return GroupSpec(name, str(_require(raw, "schedule", where)), critical, sla_minutes, tables)


@functools.cache
def load_source(path: Path) -> SourceSpec:
    """Read and validate one source YAML file (cached per process).

    Args:
        path: Path of a ``sources/<source>.yaml`` file.

    Returns:
        The validated source spec.

    Raises:
        SourceDefinitionError: The file is missing a key or holds an unusable value.
    """
    raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_YamlLoader)  # noqa: S506 (safe loader)
    where = Path(path).name
    name = _require(raw, "source", where)
    kind = _require(raw, "kind", where)
    if kind not in SOURCE_KINDS:
        raise SourceDefinitionError(f"{where}: kind '{kind}' is not one of {SOURCE_KINDS}")
    groups = tuple(
        _group_spec(name, kind, group, spec, f"{where}:{group}")
        for group, spec in _require(raw, "groups", where).items()
    )
    return SourceSpec(
        name=name,
        kind=kind,
        owner=_require(raw, "owner", where),
        conn_id=raw.get("conn_id") if kind == "postgres" else None,
        schema=raw.get("schema", "public") if kind == "postgres" else None,
        groups=groups,
    )


def source_path(source: str, sources_dir: Path = SOURCES_DIR) -> Path:
    """Path of the YAML file defining ``source``."""
    return sources_dir / f"{source}.yaml"


def load_all_sources(sources_dir: Path = SOURCES_DIR) -> tuple[SourceSpec, ...]:
    """Every source defined under ``sources_dir``, sorted by file name."""
    return tuple(load_source(path) for path in sorted(sources_dir.glob("*.yaml")))


def find_table(raw_table: str, sources_dir: Path = SOURCES_DIR) -> TableSpec:
    """The spec of a raw table such as ``core_banking__transactions``.

    Raises:
        KeyError: No source defines that table.
    """
    for source in load_all_sources(sources_dir):
        for table in source.tables():
            if table.raw_table == raw_table:
                return table
    raise KeyError(f"no source YAML under {sources_dir} defines raw table '{raw_table}'")
