"""Judge the release a Snowflake environment publishes: its dbt tests, its contracts and source
freshness, in Snowflake SQL through the connector (the DuckDB path is :mod:`~finsight_release.checks.
judge`; results have the same shape and the same verdict rules).

- dbt tests: each data test of the published version, as the Snowflake target runs it before
  go-live (``SELECT COUNT(*) FROM (<test>)`` on the physical relations, its SQL transpiled from dbt's
  compile): rows from a test of severity ``error`` block, from one of severity ``warn`` warn, a test
  that cannot run is inconclusive.
- contracts: the Soda v4 contract files beside the dbt project, evaluated through the connector
  (:mod:`~finsight_release.checks.connector_contracts`, which says why not through soda-snowflake):
  ``finsight/<schema>/<name>`` is the published view of the environment's database, else the dbt
  source table of that schema and name as the environment resolves its sources.
- freshness: ``MAX(<loaded_at_field>)`` of each source table with an SLA, the expression transpiled
  from DuckDB to Snowflake by sqlglot.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from finsight_release.checks.connector_contracts import (
    CatalogColumn,
    Relation,
    Resolve,
    evaluate_contract,
)
from finsight_release.checks.judge import (
    NewestLoad,
    ReleaseJudgement,
    SourceUnreadable,
    freshness_from,
)
from finsight_release.checks.results import CheckResult
from finsight_release.checks.soda_contracts import contract_files
from finsight_release.envs.environment import Environment
from finsight_release.one_line import one_line
from finsight_release.targets import snowflake_sql as sql
from finsight_release.targets import snowflake_state as state
from finsight_release.targets.model_plan import SourceTable

if TYPE_CHECKING:
    from finsight_release.targets.snowflake_warehouse import (
        PublishedVersion,
        SnowflakeWarehouseTarget,
    )


def snowflake_release_checks(
    target: SnowflakeWarehouseTarget, env: Environment, now: datetime | None = None
) -> ReleaseJudgement:
    """Run dbt tests, contracts and freshness against what ``env``'s Snowflake database publishes;
    NothingPublishedError when it publishes no release."""
    version = target.published_version(env)
    judgement = ReleaseJudgement(str(env), version.release_id)
    project = target.projects_dir / version.plan.digest
    with target.session(env) as cur:
        judgement.results += dbt_test_results(cur, version, str(env))
        resolve = _resolver(cur, version)
        for contract in contract_files(project):
            judgement.results += evaluate_contract(
                contract,
                cur,
                resolve,
                lambda relation: catalog_columns(cur, relation),
                version.release_id,
                str(env),
            )
        newest = _newest_load(cur, version)
        judgement.results += freshness_from(newest, version.plan, version.release_id, str(env), now)
    return judgement


def dbt_test_results(cur: Any, version: PublishedVersion, env: str) -> list[CheckResult]:
    """Every data test of the published version, run on its physical relations."""
    models = version.plan.by_id()
    results = []
    for test in version.plan.tests:
        query, severity = version.sql.tests[test.unique_id]
        parent = next((models[p] for p in test.depends_on if p in models), None)
        asset = f"{parent.published_schema}.{parent.published_name}" if parent else test.name
        inconclusive = False
        try:
            cur.execute(sql.test_query(query))
            (failures,) = cur.fetchone()
            detail = f"{failures} failing row(s)" if failures else ""
        except Exception as exc:  # noqa: BLE001 - a test that cannot run decides nothing
            failures, detail, inconclusive = 1, f"test did not run: {one_line(exc)}", True
        results.append(
            CheckResult(
                name=test.name,
                kind="dbt_test",
                asset=asset,
                severity="warn" if severity == "warn" else "blocking",
                passed=not failures,
                detail=detail,
                release_id=version.release_id,
                environment=env,
                inconclusive=inconclusive,
            )
        )
    return results


def catalog_columns(cur: Any, relation: Relation) -> list[CatalogColumn]:
    """The columns of ``relation`` in its database's ``INFORMATION_SCHEMA.COLUMNS``, in order."""
    database, schema, name = relation
    columns = sql.qualified(database, "information_schema", "columns")
    return [
        CatalogColumn(str(column), str(kind), None if scale is None else int(scale))
        for column, kind, scale in state.rows(
            cur,
            f"SELECT column_name, data_type, numeric_scale FROM {columns} "
            "WHERE UPPER(table_schema) = %s AND UPPER(table_name) = %s ORDER BY ordinal_position",
            [schema.upper(), name.upper()],
        )
    ]


def _source_relations(version: PublishedVersion) -> dict[tuple[str, str], Relation]:
    """Each dbt source table by (schema, identifier) as the project names it (lower case; the
    names the contracts and freshness results use) -> where it lives on Snowflake."""
    snowflake = {s.dbt_name: s for s in version.sources}
    found: dict[tuple[str, str], Relation] = {}
    for s in version.sources:
        found[(s.schema.lower(), s.identifier.lower())] = (s.database, s.schema, s.identifier)
    for source in version.plan.sources:
        table = snowflake.get(source.name)
        if table is not None:
            key = (source.schema_name.lower(), source.identifier.lower())
            found[key] = (table.database, table.schema, table.identifier)
    return found


def _resolver(cur: Any, version: PublishedVersion) -> Resolve:
    views = {(s.lower(), v.lower()) for s, v in state.published_views(cur)}
    sources = _source_relations(version)

    def resolve(schema: str, name: str) -> Relation | None:
        key = (schema.lower(), name.lower())
        if key in views:
            return ("", schema, name)
        return sources.get(key)

    return resolve


def _newest_load(cur: Any, version: PublishedVersion) -> NewestLoad:
    sources = _source_relations(version)

    def newest(source: SourceTable) -> datetime | None:
        relation = sources.get((source.schema_name.lower(), source.identifier.lower()))
        if relation is None:
            raise SourceUnreadable(f"source {source.name} has no Snowflake table")
        database, schema, name = relation
        try:
            loaded_at = sqlglot.parse_one(str(source.loaded_at_field), read=sql.SOURCE_DIALECT)
            query = (
                exp.select(exp.Max(this=loaded_at))
                .from_(exp.table_(name, db=schema, catalog=database or None))
                .sql(dialect="snowflake")
            )
            cur.execute(query)
            row = cur.fetchone()
        except Exception as exc:  # noqa: BLE001 - unreadable: inconclusive, named
            raise SourceUnreadable(one_line(exc)) from exc
        return row[0] if row else None

    return newest
