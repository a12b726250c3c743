"""The raw tables a dbt project's sources reference, as a given target would resolve them.

Sources are read from ``models/**/*.yml`` without running dbt: ``database``, ``schema`` and
``identifier`` may be Jinja (this project switches them on ``target.type``), so each is rendered in a
sandbox that offers what source properties use: ``target`` (type, database, schema), ``env_var`` and
``var``. That is far cheaper than ``dbt parse`` and needs no profile; anything else in the Jinja
(macros, undefined names) raises :class:`SourceReadError` rather than guessing a table name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from finsight_release.errors import SourceReadError

_LINE_KEY = "__line__"


@dataclass(frozen=True)
class SourceTable:
    """One table of a dbt source, resolved for a target: where it lives and where it is declared."""

    source: str
    table: str
    database: str
    schema: str
    identifier: str
    file: str
    line: int | None = None

    @property
    def dbt_name(self) -> str:
        """How dbt models refer to it: ``source('<source>', '<table>')``."""
        return f"{self.source}.{self.table}"


@dataclass(frozen=True)
class DbtTarget:
    """The parts of a dbt target that source properties may depend on."""

    type: str
    database: str
    schema: str = "analytics"


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records each mapping's line, so findings can point at the declaration."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[_LINE_KEY] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def _project_vars(project_dir: Path) -> dict[str, Any]:
    try:
        project = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    project_vars = project.get("vars") if isinstance(project, dict) else None
    return project_vars if isinstance(project_vars, dict) else {}


class _Renderer:
    """Renders one source property the way dbt would for ``target``."""

    def __init__(
        self, target: DbtTarget, env_vars: Mapping[str, str], project_vars: Mapping[str, Any]
    ) -> None:
        self.env = SandboxedEnvironment(undefined=StrictUndefined)
        self.context = {
            "target": {"type": target.type, "database": target.database, "schema": target.schema},
            "env_var": self._env_var,
            "var": self._var,
        }
        self.env_vars = env_vars
        self.project_vars = project_vars

    def _env_var(self, name: str, default: str | None = None) -> str:
        # The deploy's environment is described by env_vars (from the env config); the validator's own
        # process environment is only a fallback, as dbt would read it if the deploy ran here.
        value = self.env_vars.get(name, os.environ.get(name, default))
        if value is None:
            raise SourceReadError(f"env_var('{name}') is not set and has no default")
        return str(value)

    def _var(self, name: str, default: Any = None) -> Any:
        if name not in self.project_vars and default is None:
            raise SourceReadError(f"var('{name}') is not defined in dbt_project.yml")
        return self.project_vars.get(name, default)

    def render(self, value: object) -> str:
        text = str(value)
        if "{{" not in text and "{%" not in text:
            return text
        try:
            return self.env.from_string(text).render(self.context).strip()
        except TemplateError as exc:
            raise SourceReadError(f"cannot render {text!r}: {exc}") from exc


def source_tables(
    project_dir: Path, target: DbtTarget, env_vars: Mapping[str, str] | None = None
) -> list[SourceTable]:
    """Every enabled source table declared under ``project_dir/models``, resolved for ``target``.

    Defaults follow dbt: ``schema`` is the source name, ``database`` the target's, ``identifier`` the
    table name. Raises :class:`SourceReadError` for unreadable YAML or Jinja that cannot be rendered.
    """
    renderer = _Renderer(target, env_vars or {}, _project_vars(project_dir))
    tables: list[SourceTable] = []
    models = project_dir / "models"
    paths = sorted([*models.rglob("*.yml"), *models.rglob("*.yaml")]) if models.is_dir() else []
    for path in paths:
        relative = path.relative_to(project_dir).as_posix()
        try:
            doc = yaml.load(path.read_text(), Loader=_LineLoader) or {}  # noqa: S506 - a SafeLoader subclass
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise SourceReadError(f"{relative}: {str(exc).splitlines()[0]}") from exc
        sources = doc.get("sources") if isinstance(doc, dict) else None
        for source in sources if isinstance(sources, list) else []:
            if not isinstance(source, dict) or "name" not in source or not _enabled(source):
                continue
            try:
                database = renderer.render(source.get("database") or target.database)
                schema = renderer.render(source.get("schema") or source["name"])
                for table in source.get("tables") or []:
                    if not isinstance(table, dict) or "name" not in table or not _enabled(table):
                        continue
                    tables.append(
                        SourceTable(
                            source=str(source["name"]),
                            table=str(table["name"]),
                            database=database,
                            schema=schema,
                            identifier=renderer.render(table.get("identifier") or table["name"]),
                            file=relative,
                            line=table.get(_LINE_KEY),
                        )
                    )
            except SourceReadError as exc:
                raise SourceReadError(f"{relative}: source {source['name']}: {exc}") from exc
    return tables


def _enabled(node: dict[str, Any]) -> bool:
    config = node.get("config")
    return not (isinstance(config, dict) and config.get("enabled") is False)
