"""The DAG bundle as Airflow's DAG processor sees it: which files it parses, and what each imports.

Airflow 2 parses every ``.py`` file under the dags folder that ``.airflowignore`` (regexp syntax) does
not exclude and that mentions both "airflow" and "dag" (the safe-mode heuristic). A DAG file's result
depends on the bundle modules it imports, so a change to a shared module (a DAG factory, a specs file)
must re-parse every DAG file that imports it, directly or not: :func:`affected_dag_files`.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from finsight_release.validate.python_source import parse_python


def ignored_by(root: Path) -> list[re.Pattern[str]]:
    """The bundle's ``.airflowignore`` patterns (Airflow 2's default regexp syntax)."""
    path = root / ".airflowignore"
    if not path.is_file():
        return []
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [re.compile(line) for line in lines if line]


def might_contain_dag(source: bytes) -> bool:
    """Airflow's safe-mode heuristic: a file that names neither "airflow" nor "dag" is not parsed."""
    lowered = source.lower()
    return b"airflow" in lowered and b"dag" in lowered


class DagBundle:
    """The Python files of one DAG bundle (paths relative to its root, '/'-separated)."""

    def __init__(self, root: Path, files: Iterable[str]) -> None:
        self.root = root
        self.files = sorted(f for f in files if f.endswith(".py"))
        # The bundle does not change while it is looked at: each file is read and parsed once.
        self._imports: dict[str, frozenset[str]] = {}
        self._closures: dict[str, frozenset[str]] = {}

    @classmethod
    def scan(cls, root: Path) -> DagBundle:
        """Every ``.py`` file under ``root`` that is not a symlink (a live dags folder; a release's bundle
        is built from its artifact's file list instead)."""
        return cls(
            root,
            (
                p.relative_to(root).as_posix()
                for p in root.rglob("*.py")
                if p.is_file() and not p.is_symlink()
            ),
        )

    def _source(self, rel: str) -> bytes:
        try:
            return (self.root / rel).read_bytes()
        except OSError:
            return b""

    @cached_property
    def dag_files(self) -> list[str]:
        """The files Airflow's DAG processor would parse, in path order."""
        ignore = ignored_by(self.root)
        return [
            f
            for f in self.files
            if not any(p.search(f) for p in ignore) and might_contain_dag(self._source(f))
        ]

    @cached_property
    def _modules(self) -> dict[str, str]:
        """Dotted module name -> file, for every module importable from the bundle root (it is on sys.path)."""
        modules = {}
        for rel in self.files:
            parts = rel[: -len(".py")].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                modules[".".join(parts)] = rel
        return modules

    def _direct_imports(self, rel: str) -> frozenset[str]:
        if rel not in self._imports:
            self._imports[rel] = frozenset(self.imports(rel))
        return self._imports[rel]

    def imports(self, rel: str) -> set[str]:
        """The bundle files ``rel`` imports directly (absolute imports from the bundle root, and relative
        ones); a package import also counts its ``__init__``."""
        try:
            tree = parse_python(self._source(rel))
        except (SyntaxError, ValueError):
            return set()
        package = rel.rsplit("/", 1)[0].replace("/", ".") if "/" in rel else ""
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = (
                        package.split(".")[: len(package.split(".")) - node.level + 1]
                        if package
                        else []
                    )
                    base = ".".join([*anchor, base] if base else anchor)
                names.add(base)
                names.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
        found: set[str] = set()
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # "a.b.c" imports a/__init__, a/b/__init__, a/b/c
                target = self._modules.get(".".join(parts[:i]))
                if target is not None and target != rel:
                    found.add(target)
        return found

    def closure(self, rel: str) -> frozenset[str]:
        """``rel`` and every bundle file it imports, transitively."""
        if rel not in self._closures:
            seen, stack = {rel}, [rel]
            while stack:
                for dep in self._direct_imports(stack.pop()):
                    if dep not in seen:
                        seen.add(dep)
                        stack.append(dep)
            self._closures[rel] = frozenset(seen)
        return self._closures[rel]

    def affected_dag_files(self, changed: Iterable[str]) -> list[str]:
        """DAG files whose parse may differ after ``changed`` files changed: the changed DAG files and
        every DAG file importing a changed module (transitively)."""
        changed_set = set(changed)
        return [f for f in self.dag_files if self.closure(f) & changed_set]

    def fingerprint(self, rel: str) -> str:
        """sha256 over a DAG file and everything it imports from the bundle: equal fingerprints, equal parse."""
        h = hashlib.sha256()
        for dep in sorted(self.closure(rel)):
            h.update(dep.encode() + b"\0" + self._source(dep) + b"\0")
        return h.hexdigest()
