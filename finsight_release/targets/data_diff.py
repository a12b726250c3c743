"""Data diff before go-live: each changed table model's new relation against the one consumers read.

For every table model whose published view would switch to a new relation, both relations are
compared: row counts, the key set added and removed (by the model's primary key constraint), and per
column the null rate and, for numeric columns, the sum. The diff is stored with the release in the
environment's warehouse (``_finsight.diffs``) and returned to the caller for its report.

Thresholds in the model's dbt ``meta`` make a diff blocking (the release is not published)::

    meta:
      finsight:
        diff:
          max_row_change_pct: 5        # |rows_new - rows_live| / rows_live, in percent
          max_keys_removed: 0          # keys live has that the new version lost
          max_keys_added: 1000
          max_null_rate_increase: 0.01 # per column, absolute (0.01 = one point of percentage)
          max_sum_change_pct: 1        # per numeric column

The live relation holds the data as of its last build or refresh (``live_as_of`` in the diff); the
new one was just built from current sources. The comparison is the same on both warehouses: its SQL is
generated once (:mod:`finsight_release.targets.diff_sql`) and rendered in the dialect of the
:class:`DiffSource` it runs on (DuckDB locally, Snowflake in AWS mode).
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from finsight_release.targets.diff_sql import key_delta_query, profile_query
from finsight_release.targets.model_plan import ModelVersion


class ColumnDiff(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    null_rate_live: float | None = None
    null_rate_new: float
    sum_live: float | None = None
    sum_new: float | None = None


class ModelDiff(BaseModel):
    """One changed model's new relation against the live one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    live_relation: str
    new_relation: str
    live_as_of: str | None = None
    rows_live: int
    rows_new: int
    keys_added: int | None = None
    keys_removed: int | None = None
    columns: tuple[ColumnDiff, ...] = ()
    violations: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        return bool(self.violations)

    def keys_change(self) -> str:
        """``+added / -removed`` keys, ``-`` without a key."""
        return "-" if self.keys_added is None else f"+{self.keys_added} / -{self.keys_removed}"

    def verdict(self) -> str:
        return "BLOCKING: " + "; ".join(self.violations) if self.blocking else "within limits"

    def summary(self) -> str:
        keys = (
            f", keys +{self.keys_added}/-{self.keys_removed}" if self.keys_added is not None else ""
        )
        return f"{self.model}: rows {self.rows_live} -> {self.rows_new}{keys}"


class EnvironmentDiff(BaseModel):
    """A changed model's data diff as measured when a release was prepared in ``environment``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: str
    diff: ModelDiff

    def line(self) -> str:
        blocking = f"; BLOCKING: {'; '.join(self.diff.violations)}" if self.diff.blocking else ""
        return f"{self.environment}: {self.diff.summary()}{blocking}"


class DiffSource(Protocol):
    """One warehouse's connection as a data diff reads it: the SQL dialect it speaks, a relation's
    columns as its catalog spells them, and the first row of a query."""

    dialect: str

    def columns(self, schema: str, relation: str) -> list[tuple[str, str]]:
        """(column, data type) of ``schema.relation``, in order."""
        ...

    def first_row(self, sql: str) -> tuple[Any, ...]:
        """The first row ``sql`` returns."""
        ...


# A relation's profile: its row count and, per column (lower case), its catalog spelling, null rate
# and sum (None: not numeric, or no non-NULL value).
Profile = tuple[int, dict[str, tuple[str, float, float | None]]]


def _profile(source: DiffSource, schema: str, relation: str) -> Profile:
    columns = source.columns(schema, relation)
    row = source.first_row(profile_query(schema, relation, columns, source.dialect))
    rows = int(row[0])
    stats = {}
    for i, (name, _) in enumerate(columns):
        nulls, total = row[1 + 2 * i], row[2 + 2 * i]
        stats[name.lower()] = (
            name,
            int(nulls) / rows if rows else 0.0,
            None if total is None else float(total),
        )
    return rows, stats


def _key_delta(source: DiffSource, schema: str, left: str, right: str, key: list[str]) -> int:
    row = source.first_row(key_delta_query(schema, left, right, key, source.dialect))
    return int(row[0]) if row else 0


def thresholds(model: ModelVersion) -> dict[str, float]:
    """The diff thresholds in the model's ``meta`` (``finsight: {diff: {...}}``)."""
    finsight = model.meta.get("finsight") or {}
    diff = finsight.get("diff") if isinstance(finsight, dict) else None
    return {str(k): float(v) for k, v in (diff or {}).items()}


def _pct(old: float | None, new: float | None) -> float:
    if old is None or new is None:
        return 0.0
    if old == 0:
        return 0.0 if new == 0 else float("inf")
    return abs(new - old) / abs(old) * 100


def _violations(diff: dict[str, Any], limits: dict[str, float]) -> list[str]:
    found = []
    change = _pct(diff["rows_live"], diff["rows_new"])
    if "max_row_change_pct" in limits and change > limits["max_row_change_pct"]:
        found.append(f"rows changed {change:.1f}% > {limits['max_row_change_pct']:g}%")
    for name in ("keys_removed", "keys_added"):
        limit = limits.get(f"max_{name}")
        if limit is not None and diff[name] is not None and diff[name] > limit:
            found.append(f"{diff[name]} {name.replace('_', ' ')} > {limit:g}")
    for col in diff["columns"]:
        limit = limits.get("max_null_rate_increase")
        if limit is not None and col.null_rate_live is not None:
            if col.null_rate_new - col.null_rate_live > limit:
                found.append(
                    f"{col.column} null rate {col.null_rate_live:.3f} -> {col.null_rate_new:.3f}"
                )
        limit = limits.get("max_sum_change_pct")
        if limit is not None and _pct(col.sum_live, col.sum_new) > limit:
            found.append(f"{col.column} sum {col.sum_live:g} -> {col.sum_new:g}")
    return found


def diff_model(
    source: DiffSource,
    schema: str,
    model: ModelVersion,
    live_relation: str,
    live_as_of: str | None = None,
) -> ModelDiff:
    """Compare ``model``'s new relation with ``live_relation`` (both in ``schema`` of ``source``'s
    warehouse); column names are reported in lower case whatever the catalog's spelling."""
    rows_live, live = _profile(source, schema, live_relation)
    rows_new, new = _profile(source, schema, model.physical_name)
    key = [new[k.lower()][0] for k in model.key if k.lower() in live and k.lower() in new]
    added = _key_delta(source, schema, model.physical_name, live_relation, key) if key else None
    removed = _key_delta(source, schema, live_relation, model.physical_name, key) if key else None
    columns = tuple(
        ColumnDiff(
            column=name,
            null_rate_live=live[name][1] if name in live else None,
            null_rate_new=rate,
            sum_live=live[name][2] if name in live else None,
            sum_new=total,
        )
        for name, (_, rate, total) in new.items()
    )
    fields: dict[str, Any] = {
        "rows_live": rows_live,
        "rows_new": rows_new,
        "keys_added": added,
        "keys_removed": removed,
        "columns": columns,
    }
    return ModelDiff(
        model=model.name,
        live_relation=live_relation,
        new_relation=model.physical_name,
        live_as_of=live_as_of,
        violations=tuple(_violations(fields, thresholds(model))),
        **fields,
    )
