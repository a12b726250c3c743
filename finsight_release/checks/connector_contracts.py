"""The Soda v4 data contracts of a release, evaluated on Snowflake through the connector.

soda-core's Snowflake data source (``soda-snowflake``) is installed, but it cannot run against
fakesnow, the only Snowflake the tests have: its session starts with ``SELECT CURRENT_WAREHOUSE()``,
a function fakesnow lacks, and past that its column metadata query reads
``INFORMATION_SCHEMA.COLUMNS.DATETIME_PRECISION``, a column fakesnow lacks, so the schema check would
not be evaluated. So on a Snowflake environment the same contract files
(:func:`~finsight_release.checks.soda_contracts.contract_files`) are read here and their checks
evaluated in Snowflake SQL (generated with sqlglot) on the connector's cursor, with the result shape
of :mod:`~finsight_release.checks.soda_contracts`: one :class:`CheckResult` per check, named
``<column>.<type>`` or ``<type>``, ``failed, measured <n>`` when it fails.

The checks the project's contracts use are evaluated: ``row_count``, ``schema`` (missing, extra and
reordered columns, and declared data types compared as Snowflake stores them), ``missing``,
``invalid`` with ``valid_values``, ``duplicate`` on a column or on ``columns`` of the dataset;
thresholds ``must_be``, ``must_not_be``, ``must_be_greater_than`` (``_or_equal``),
``must_be_less_than`` (``_or_equal``). Any other check type or option is not guessed at: it is an
inconclusive result naming it (judged again, then the pipeline pauses for a person).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlglot import exp

from finsight_release.checks.results import CheckResult
from finsight_release.one_line import one_line

DIALECT = "snowflake"
# A contract's data type (as the contracts spell them, DuckDB's names) -> Snowflake's catalog name,
# and the numeric scale it requires (integers are NUMBER(38, 0) on Snowflake).
SNOWFLAKE_TYPES: dict[str, tuple[str, int | None]] = {
    **{t: ("NUMBER", 0) for t in ("TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT")},
    **{t: ("NUMBER", None) for t in ("DECIMAL", "NUMERIC", "NUMBER")},
    **{t: ("FLOAT", None) for t in ("DOUBLE", "FLOAT", "REAL")},
    **{t: ("TEXT", None) for t in ("VARCHAR", "TEXT", "STRING", "CHAR")},
    **{t: ("TIMESTAMP_NTZ", None) for t in ("TIMESTAMP", "TIMESTAMP_NTZ", "DATETIME")},
    **{t: ("TIMESTAMP_TZ", None) for t in ("TIMESTAMPTZ", "TIMESTAMP_TZ")},
    "DATE": ("DATE", None),
    "BOOLEAN": ("BOOLEAN", None),
}
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "must_be": lambda v, t: v == t,
    "must_not_be": lambda v, t: v != t,
    "must_be_greater_than": lambda v, t: v > t,
    "must_be_greater_than_or_equal": lambda v, t: v >= t,
    "must_be_less_than": lambda v, t: v < t,
    "must_be_less_than_or_equal": lambda v, t: v <= t,
}
COUNT_CHECKS = ("missing", "invalid", "duplicate")  # a count of bad rows, 0 unless a threshold says


@dataclass(frozen=True)
class CatalogColumn:
    """A column as Snowflake's catalog has it."""

    name: str
    data_type: str
    numeric_scale: int | None = None


@dataclass
class _Check:
    type: str
    column: str | None  # the column it belongs to (None: a dataset check)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.column}.{self.type}" if self.column else self.type


Relation = tuple[str, str, str]  # (database, or "" for the session's; schema; name)
# Reads the catalog columns of a relation, in order.
ReadColumns = Callable[[Relation], list[CatalogColumn]]
# Resolves a contract's dataset (schema, name) to the relation it checks, or None.
Resolve = Callable[[str, str], Relation | None]


def evaluate_contract(
    contract: Path,
    cur: Any,
    resolve: Resolve,
    read_columns: ReadColumns,
    release_id: str,
    environment: str,
) -> list[CheckResult]:
    """Evaluate every check of one contract file on ``cur``; a contract that cannot run (bad YAML,
    unknown dataset) is one inconclusive result naming the file and the cause."""
    common = {"release_id": release_id, "environment": environment}
    try:
        spec = yaml.safe_load(contract.read_text())
        dataset = str(spec["dataset"])
        schema, name = dataset.split("/")[1:3]
    except (OSError, yaml.YAMLError, TypeError, KeyError, ValueError) as exc:
        return [_unrun(contract.stem, contract.name, f"not a contract: {one_line(exc)}", common)]
    asset = f"{schema}.{name}"
    relation = resolve(schema, name)
    if relation is None:
        return [_unrun(contract.stem, asset, f"dataset {dataset} not found", common)]
    try:
        columns = read_columns(relation)
    except Exception as exc:  # noqa: BLE001 - any driver error: the contract did not run
        return [_unrun(contract.stem, asset, one_line(exc), common)]
    if not columns:
        where = ".".join(part for part in relation if part)
        return [_unrun(contract.stem, asset, f"{where} does not exist", common)]
    checks = _checks(spec)
    results: list[CheckResult] = []
    measured = _measure(cur, relation, columns, checks, asset, common, results)
    for check in checks:
        if check.type == "schema":
            results.append(_schema(check, spec, columns, asset, common))
        elif id(check) in measured:
            results.append(_verdict(check, measured[id(check)], asset, common))
    return results


def _checks(spec: Mapping[str, Any]) -> list[_Check]:
    checks = [
        _Check(str(kind), None, dict(options or {}))
        for item in spec.get("checks") or []
        for kind, options in (item or {}).items()
    ]
    for column in spec.get("columns") or []:
        for item in column.get("checks") or []:
            for kind, options in (item or {}).items():
                checks.append(_Check(str(kind), str(column["name"]), dict(options or {})))
    return checks


def _column(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def _metric(check: _Check, columns: Mapping[str, CatalogColumn]) -> exp.Expression | str:
    """The aggregate measuring ``check`` on one scan, or why it cannot be evaluated here."""
    if check.type not in (*COUNT_CHECKS, "row_count"):
        return f"check type {check.type} is not evaluated on Snowflake"
    unknown = set(check.options) - {"threshold", "valid_values", "columns"}
    if unknown:
        return f"option {', '.join(sorted(unknown))} of {check.type} is not evaluated on Snowflake"
    if check.type == "row_count":
        return exp.Count(this=exp.Star())
    found = columns.get(str(check.column).lower())
    if found is None:
        return f"column {check.column} not found"
    column = _column(found.name)
    if check.type == "missing":
        return exp.Sub(this=exp.Count(this=exp.Star()), expression=exp.Count(this=column))
    if check.type == "duplicate":
        distinct = exp.Count(this=exp.Distinct(expressions=[column.copy()]))
        return exp.Sub(this=exp.Count(this=column), expression=distinct)
    values = check.options.get("valid_values")
    if not isinstance(values, list):
        return "invalid without valid_values is not evaluated on Snowflake"
    bad = exp.and_(
        exp.Not(this=exp.Is(this=column, expression=exp.Null())),
        exp.Not(this=exp.In(this=column.copy(), expressions=[exp.convert(v) for v in values])),
    )
    return exp.Sum(this=exp.If(this=bad, true=exp.Literal.number(1), false=exp.Literal.number(0)))


def _measure(
    cur: Any,
    relation: Relation,
    columns: Sequence[CatalogColumn],
    checks: Sequence[_Check],
    asset: str,
    common: dict[str, str],
    results: list[CheckResult],
) -> dict[int, float]:
    """Run the aggregates of ``checks`` in one query (a dataset duplicate check in its own); the
    value by check (its ``id``). Checks that cannot be evaluated, or whose query fails, become
    inconclusive results appended to ``results``."""
    by_name = {c.name.lower(): c for c in columns}
    database, schema, name = relation
    table = exp.table_(name, db=schema, catalog=database or None)
    scan: list[tuple[_Check, exp.Expression]] = []
    measured: dict[int, float] = {}
    for check in checks:
        if check.type == "schema":
            continue
        if check.type == "duplicate" and check.column is None:  # over columns: its own query
            keys = [by_name.get(str(k).lower()) for k in check.options.get("columns") or []]
            if not keys or None in keys:
                results.append(_unrun(check.name, asset, "duplicate columns not found", common))
                continue
            query = _dataset_duplicates(table, [k.name for k in keys if k is not None])
            value = _run(cur, query, check, asset, common, results)
            if value is not None:
                measured[id(check)] = value
            continue
        metric = _metric(check, by_name)
        if isinstance(metric, str):
            results.append(_unrun(check.name, asset, metric, common))
        else:
            scan.append((check, metric))
    if scan:
        # Each output column named: fakesnow builds rows by column name and would merge equal ones.
        named = [exp.alias_(m, f"m{i}") for i, (_, m) in enumerate(scan)]
        query = exp.select(*named).from_(table.copy()).sql(dialect=DIALECT)
        try:
            cur.execute(query)
            row = cur.fetchone()
        except Exception as exc:  # noqa: BLE001 - a failed query leaves its checks undecided
            for check, _ in scan:
                results.append(_unrun(check.name, asset, one_line(exc), common))
            return measured
        for i, (check, _) in enumerate(scan):
            measured[id(check)] = float(row[i] or 0)
    return measured


def _dataset_duplicates(table: exp.Table, keys: Sequence[str]) -> str:
    """Rows beyond the first of each group of equal ``keys``: ``SUM(n - 1)`` over the groups."""
    groups = (
        exp.select(exp.alias_(exp.Count(this=exp.Star()), "n"))
        .from_(table.copy())
        .group_by(*(_column(k) for k in keys))
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
    )
    extra = exp.Sub(this=exp.column("n"), expression=exp.Literal.number(1))
    total = exp.Coalesce(this=exp.Sum(this=extra), expressions=[exp.Literal.number(0)])
    return exp.select(total).from_(groups.subquery("key_groups")).sql(dialect=DIALECT)


def _run(
    cur: Any,
    query: str,
    check: _Check,
    asset: str,
    common: dict[str, str],
    results: list[CheckResult],
) -> float | None:
    try:
        cur.execute(query)
        row = cur.fetchone()
    except Exception as exc:  # noqa: BLE001 - a failed query leaves its check undecided
        results.append(_unrun(check.name, asset, one_line(exc), common))
        return None
    return float(row[0] or 0)


def _verdict(check: _Check, value: float, asset: str, common: dict[str, str]) -> CheckResult:
    threshold = check.options.get("threshold") or (
        {"must_be_greater_than": 0} if check.type == "row_count" else {"must_be": 0}
    )
    unknown = set(threshold) - set(COMPARISONS)
    if unknown:
        detail = f"threshold {', '.join(sorted(unknown))} is not evaluated on Snowflake"
        return _unrun(check.name, asset, detail, common)
    passed = all(COMPARISONS[k](value, float(t)) for k, t in threshold.items())
    shown = int(value) if value == int(value) else value
    return CheckResult(
        name=check.name,
        kind="contract",
        asset=asset,
        severity="blocking",
        passed=passed,
        detail="" if passed else f"failed, measured {shown}",
        release_id=common["release_id"],
        environment=common["environment"],
    )


def _schema(
    check: _Check,
    spec: Mapping[str, Any],
    columns: Sequence[CatalogColumn],
    asset: str,
    common: dict[str, str],
) -> CheckResult:
    """Declared columns against the catalog's: missing, extra (unless ``allow_extra_columns``),
    order (unless ``allow_other_column_order``) and each declared data type."""
    declared = [c for c in spec.get("columns") or []]
    actual = {c.name.lower(): c for c in columns}
    wanted = [str(c["name"]).lower() for c in declared]
    problems = [f"missing column {name}" for name in wanted if name not in actual]
    if not check.options.get("allow_extra_columns"):
        problems += [f"extra column {name}" for name in actual if name not in wanted]
    present = [name for name in actual if name in wanted]
    if not check.options.get("allow_other_column_order") and present != [
        n for n in wanted if n in actual
    ]:
        problems.append("columns in another order")
    for column in declared:
        found = actual.get(str(column["name"]).lower())
        if found is not None and column.get("data_type"):
            mismatch = _type_mismatch(str(column["data_type"]), found)
            if mismatch:
                problems.append(f"{found.name.lower()} {mismatch}")
    return CheckResult(
        name=check.name,
        kind="contract",
        asset=asset,
        severity="blocking",
        passed=not problems,
        detail=f"failed, measured {len(problems)}: {'; '.join(problems)}" if problems else "",
        release_id=common["release_id"],
        environment=common["environment"],
    )


def _type_mismatch(declared: str, column: CatalogColumn) -> str | None:
    """Why ``column``'s Snowflake type is not the contract's ``declared`` one, or None."""
    base = declared.upper().split("(")[0].strip()
    name, scale = SNOWFLAKE_TYPES.get(base, (base, None))
    actual = column.data_type.upper().split("(")[0].strip()
    if actual != name:
        return f"is {actual}, contract says {declared} ({name} on Snowflake)"
    if scale is not None and column.numeric_scale not in (None, scale):
        return f"is NUMBER with scale {column.numeric_scale}, contract says {declared}"
    return None


def _unrun(name: str, asset: str, why: str, common: dict[str, str]) -> CheckResult:
    return CheckResult(
        name=name,
        kind="contract",
        asset=asset,
        severity="blocking",
        passed=False,
        detail=f"contract did not run: {why}",
        inconclusive=True,
        release_id=common["release_id"],
        environment=common["environment"],
    )
