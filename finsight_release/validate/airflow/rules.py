"""``airflow.rule.*``: static rules on DAG source (AST only, nothing is imported or run).

- ``top_level_call``: ``Variable.get``, ``BaseHook.get_connection``, DB connects or HTTP calls at module
  level run at every scheduler parse (slow, and they fail the whole file when the backend is down);
- ``dynamic_start_date``: ``datetime.now()``, ``pendulum.now()``, ``days_ago()`` as ``start_date``;
- ``catchup_frequent``: ``catchup=True`` on a schedule more frequent than daily;
- ``missing_owner_retries``: a DAG whose literal ``default_args`` lack ``owner`` or ``retries``;
- ``non_idempotent_load``: a SQL string that INSERTs without MERGE, COPY or a DELETE of the window. The
  platform convention: loads MERGE on keys or COPY with load history, so retries never duplicate rows.

Every rule is a WARNING by default: none of them stops Airflow from loading, scheduling or running the
DAG (those are the DagBag check's errors). An environment's config raises or lowers any of them
(``validation.severities`` in ``release_assets/config/<env>.yaml``; see :mod:`.severity`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.validate.airflow.bundle import ignored_by
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.python_source import parse_python

TOP_LEVEL_CALLS = {
    ("Variable", "get"),
    ("BaseHook", "get_connection"),
    ("psycopg2", "connect"),
    ("snowflake.connector", "connect"),
    ("requests", "get"),
    ("requests", "post"),
    ("boto3", "client"),
}
DYNAMIC_DATES = {"now", "utcnow", "today", "days_ago"}
FREQUENT = re.compile(r"^@(hourly|continuous)$|^\*/?\d*\s|^\d+\s\*\s|^[\d,*/-]+\s[\d,*/-]*\*")
INSERT = re.compile(r"\binsert\s+(into|overwrite)\b", re.IGNORECASE)
IDEMPOTENT = re.compile(
    r"\b(merge\s+into|copy\s+into|delete\s+from|insert\s+overwrite)\b", re.IGNORECASE
)


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain, '' otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def top_level_calls(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Calls made while the module is imported (not inside functions, lambdas or classes)."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Call):
            name = dotted(node.func)
            owner, _, attr = name.rpartition(".")
            if (owner, attr) in TOP_LEVEL_CALLS:
                yield node.lineno, name
        stack.extend(ast.iter_child_nodes(node))


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def required_variables(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """``Variable.get(NAME)`` calls without ``default_var`` whose NAME is a string literal or a module-level
    string constant: Variables the code cannot run without."""
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call) and dotted(node.func).endswith("Variable.get") and node.args
        ):
            continue
        if keyword(node, "default_var") is not None or len(node.args) > 1:
            continue
        arg = node.args[0]
        name = constants.get(arg.id) if isinstance(arg, ast.Name) else getattr(arg, "value", None)
        if isinstance(name, str):
            yield node.lineno, name


def rule_findings(source: str, rel: str, artifact: str) -> list[Finding]:
    """Every rule violation in one DAG file."""
    try:
        tree = parse_python(source)
    except SyntaxError:
        return []  # the DagBag check reports it with the line
    found: list[Finding] = []

    def add(rule: str, line: int, message: str, hint: str) -> None:
        found.append(
            Finding(
                check_id=f"airflow.rule.{rule}",
                severity=Severity.WARNING,
                artifact=artifact,
                file=rel,
                line=line,
                message=message,
                hint=hint,
            )
        )

    for line, name in top_level_calls(tree):
        add(
            "top_level_call",
            line,
            f"{name}() runs at every scheduler parse",
            "call it inside a task, or use Jinja ({{ var.value.x }}, {{ conn.x }})",
        )
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and dotted(node.func).split(".")[-1] in {"DAG", "dag"}:
            start = keyword(node, "start_date")
            if isinstance(start, ast.Call) and dotted(start.func).split(".")[-1] in DYNAMIC_DATES:
                add(
                    "dynamic_start_date",
                    node.lineno,
                    "start_date is computed at parse time",
                    "use a fixed pendulum.datetime(...)",
                )
            catchup, schedule = (
                keyword(node, "catchup"),
                keyword(node, "schedule") or keyword(node, "schedule_interval"),
            )
            if (
                isinstance(catchup, ast.Constant)
                and catchup.value is True
                and isinstance(schedule, ast.Constant)
                and isinstance(schedule.value, str)
                and FREQUENT.search(schedule.value.strip())
            ):
                add(
                    "catchup_frequent",
                    node.lineno,
                    f"catchup=True on '{schedule.value}' backfills every missed interval on first deploy",
                    "set catchup=False and backfill explicitly",
                )
            args = keyword(node, "default_args")
            if isinstance(args, ast.Dict):
                keys = {
                    k.value
                    for k in args.keys
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                }
                if missing := {"owner", "retries"} - keys:
                    add(
                        "missing_owner_retries",
                        node.lineno,
                        f"default_args lack {', '.join(sorted(missing))}",
                        "every FinSight DAG names an owner and retries",
                    )
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and INSERT.search(node.value)
        ):
            if not IDEMPOTENT.search(node.value):
                add(
                    "non_idempotent_load",
                    node.lineno,
                    "INSERT without MERGE, COPY or a DELETE of the window: a retry duplicates rows",
                    "MERGE on the primary key, or COPY INTO with load history",
                )
    return found


class DagRulesCheck(CheckDefaults):
    """Static rules over the DAG files Airflow parses (``.airflowignore`` honoured; only changed files
    when known)."""

    id = "airflow.rules"
    kinds = frozenset({ArtifactKind.AIRFLOW_DAGS})

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        changed = set(ctx.options.get("changed_files", "").splitlines())
        for artifact in artifacts:
            root = ctx.platform / artifact.source
            ignore = ignored_by(root)
            for f in artifact.files:
                if any(p.search(f.path) for p in ignore):
                    continue
                if f.path.endswith(".py") and (not changed or f.path in changed):
                    path: Path = root / f.path
                    text = path.read_text(encoding="utf-8", errors="replace")
                    findings += rule_findings(text, f"{artifact.source}/{f.path}", artifact.name)
        return findings
