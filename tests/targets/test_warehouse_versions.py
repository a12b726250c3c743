"""Per-model versions on DuckDB: a release builds only the models whose fingerprint is new, into
fingerprint-named relations; the published layer (custom schemas included) switches in one step; a
failed build never touches it; incremental models and snapshots follow their stated policy."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from finsight_release.cli.releases import refresh_line
from finsight_release.errors import WarehouseDeployError
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA, ModelPlan
from tests.targets.warehouse_project import (
    DEV,
    PROJECT,
    STG_ACCOUNTS_V2,
    Project,
    make_project,
)

PROJECT_INC = PROJECT["dbt_project/models/inc_payments.sql"]
SNAPSHOT = PROJECT["dbt_project/snapshots/accounts_snapshot.sql"]

ALL_RELATIONS = {
    "stg_accounts",
    "stg_payments",
    "agg_payment_status",
    "inc_payments",
    "dim_accounts",
    "fct_payments",
    "accounts_snapshot",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return make_project(tmp_path_factory.mktemp("warehouse-versions"))


def plan_of(project: Project, manifest: object) -> ModelPlan:
    return project.target.plan(DEV, project.dbt(manifest), project.repo)  # type: ignore[arg-type]


def query(project: Project, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(project.target.database(DEV)), read_only=True) as con:
        return con.execute(sql).fetchall()


def physical(project: Project) -> set[str]:
    rows = query(
        project,
        f"select table_name from information_schema.tables where table_schema = '{PHYSICAL_SCHEMA}'",
    )
    return {str(name) for (name,) in rows}


def view_sql(project: Project, schema: str, view: str) -> str:
    rows = query(
        project,
        f"select sql from duckdb_views() where schema_name = '{schema}' and view_name = '{view}'",
    )
    return str(rows[0][0]) if rows else ""


def test_first_release_builds_every_model_and_publishes_custom_schemas(project: Project) -> None:
    v1 = project.release("v1")
    assert project.deploy(v1) == len(ALL_RELATIONS)
    plan = plan_of(project, v1)
    assert {m.name for m in plan.relations} == ALL_RELATIONS
    assert {m.physical_name for m in plan.relations} <= physical(project)
    # dbt derives the marts' custom schema (underscores and all): the old LIKE without ESCAPE
    # never matched it, so it went unpublished without an error.
    fct = plan.by_id()["model.mini.fct_payments"]
    assert fct.published_schema == "analytics_marts_x"
    assert fct.physical_name in view_sql(project, "analytics_marts_x", "fct_payments")
    assert query(project, "select count(*) from analytics_marts_x.fct_payments")[0][0] == 600
    assert query(project, "select count(*) from analytics.stg_payments")[0][0] == 600
    assert project.target.published(DEV)["release"] == v1.release_id
    assert project.target.verify(DEV, v1, [project.dbt(v1)]) == []


def test_one_staging_change_builds_it_and_its_downstream_only(project: Project) -> None:
    v1 = project.release("v1")
    v2 = project.release("v2", STG_ACCOUNTS_V2)
    project.deploy(v1)  # each test stands alone (xdist may run it on a fresh worker)
    before = physical(project)
    assert project.prepare(v2) == 3  # stg_accounts, dim_accounts, fct_payments
    p1, p2 = plan_of(project, v1), plan_of(project, v2)
    changed = {m.name for m in p2.relations} - {
        m.name for m in p2.relations if m.fingerprint in p1.fingerprints()
    }
    assert changed == {"stg_accounts", "dim_accounts", "fct_payments"}
    assert len(physical(project) - before) == 3  # the others are v1's relations: no copy
    assert project.target.published(DEV)["release"] == v1.release_id  # prepare never publishes
    project.switch(v2)
    reused = p2.by_id()["model.mini.agg_payment_status"]
    assert reused.physical_name in view_sql(project, "analytics", "agg_payment_status")
    assert reused == p1.by_id()["model.mini.agg_payment_status"]


def test_rollback_is_a_switch_of_every_view_back(project: Project) -> None:
    v1, v2 = project.release("v1"), project.release("v2", STG_ACCOUNTS_V2)
    project.deploy(v1)
    project.deploy(v2)
    assert project.prepare(v1) == 0  # built before: nothing to build
    project.switch(v1)
    p1 = plan_of(project, v1)
    for m in p1.relations:
        assert m.physical_name in view_sql(project, m.published_schema, m.published_name), m.name
    assert project.target.published(DEV)["digest"] == project.dbt(v1).digest


def test_failed_build_names_the_model_keeps_the_published_layer_and_reuses_what_built(
    project: Project,
) -> None:
    v1 = project.release("v1")
    project.deploy(v1)
    broken = {
        "dbt_project/models/agg_payment_status.sql": (
            "{{ config(materialized='table') }}\n"
            "select status, count(*) as n from {{ ref('stg_payments') }} group by status\n"
        ),
        "dbt_project/models/marts/dim_accounts.sql": "select no_such_column from {{ ref('stg_accounts') }}\n",
    }
    v3 = project.release("v3", broken)
    with pytest.raises(WarehouseDeployError, match="dim_accounts") as info:
        project.prepare(v3)
    assert "published layer unchanged" in str(info.value) and "\n" not in str(info.value)
    assert project.target.published(DEV)["release"] == v1.release_id
    assert query(project, "select count(*) from analytics.agg_payment_status")[0][0] > 0
    dim_v3 = plan_of(project, v3).by_id()["model.mini.dim_accounts"]
    assert dim_v3.physical_name not in physical(project)  # the partial relation is gone
    fixed = project.release(
        "v4", {**broken, "dbt_project/models/marts/dim_accounts.sql": "select 1 as account_id\n"}
    )
    assert project.prepare(fixed) == 1  # agg_payment_status built by the failed run is reused


def test_a_relation_dropped_by_hand_refuses_the_switch_and_prepare_rebuilds_it(
    project: Project,
) -> None:
    v1, v2 = project.release("v1"), project.release("v2", STG_ACCOUNTS_V2)
    project.deploy(v1)
    project.deploy(v2)
    dim = plan_of(project, v1).by_id()["model.mini.dim_accounts"]
    with duckdb.connect(str(project.target.database(DEV))) as con:
        con.execute(f'drop table {PHYSICAL_SCHEMA}."{dim.physical_name}"')
    with pytest.raises(WarehouseDeployError, match="physical relations missing for dim_accounts"):
        project.switch(v1)
    assert project.target.published(DEV)["release"] == v2.release_id
    assert project.prepare(v1) == 1
    project.switch(v1)
    assert project.target.verify(DEV, v1, [project.dbt(v1)]) == []


def add_payment(project: Project, payment_id: int) -> None:
    with duckdb.connect(str(project.target.database(DEV))) as con:
        con.execute(
            "insert into raw.payments__payments select * replace (? as payment_id) "
            "from raw.payments__payments limit 1",
            [payment_id],
        )


def test_incremental_policy_unchanged_keeps_accumulating_changed_rebuilds_in_full(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    v1 = project.release("v1")
    project.deploy(v1)
    add_payment(project, 10_000_001)
    assert "inc_payments" in project.target.refresh(DEV)
    assert query(project, "select count(*) from analytics.inc_payments")[0][0] == 601
    # Unchanged (a change elsewhere): the same relation, history kept, not rebuilt.
    v2 = project.release("v2", STG_ACCOUNTS_V2)
    project.deploy(v2)
    inc = plan_of(project, v2).by_id()["model.mini.inc_payments"]
    assert inc == plan_of(project, v1).by_id()["model.mini.inc_payments"]
    with duckdb.connect(str(project.target.database(DEV))) as con:
        con.execute("delete from raw.payments__payments where payment_id < 100")
    add_payment(project, 10_000_002)
    project.target.refresh(DEV, ["inc_payments"])
    assert query(project, "select count(*) from analytics.inc_payments")[0][0] == 602
    # Changed: a new relation built in full from its (current) sources.
    v3 = project.release(
        "v3",
        {
            **STG_ACCOUNTS_V2,
            "dbt_project/models/inc_payments.sql": PROJECT_INC.replace(
                "amount", "amount * 1 as amount"
            ),
        },
    )
    assert project.prepare(v3) == 1
    project.switch(v3)
    sources = query(project, "select count(*) from raw.payments__payments")[0][0]
    assert query(project, "select count(*) from analytics.inc_payments")[0][0] == sources < 602


def test_snapshot_policy_a_sql_change_keeps_the_snapshot_table(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    v1 = project.release("v1")
    project.deploy(v1)
    v2 = project.release(
        "v2",
        {
            "dbt_project/snapshots/accounts_snapshot.sql": SNAPSHOT.replace(
                "status,", "status, customer_id,"
            )
        },
    )
    assert project.prepare(v2) == 0  # same identity (unique key, strategy): same table, not rebuilt
    s1 = plan_of(project, v1).by_id()["snapshot.mini.accounts_snapshot"]
    s2 = plan_of(project, v2).by_id()["snapshot.mini.accounts_snapshot"]
    assert s1.physical_name == s2.physical_name
    v3 = project.release(
        "v3",
        {
            "dbt_project/snapshots/accounts_snapshot.sql": SNAPSHOT.replace(
                "unique_key='account_id'", "unique_key=['account_id', 'status']"
            )
        },
    )
    assert project.prepare(v3) == 1  # a new identity starts a new snapshot table


DIFF_YML = (
    "version: 2\nmodels:\n  - name: fct_payments\n    config:\n      meta:\n        finsight:\n"
    "          diff: {max_row_change_pct: 5, max_keys_removed: 0}\n"
    "    columns:\n      - name: payment_id\n        constraints: [{type: primary_key}]\n"
    "        data_tests: [not_null, unique]\n"
)


def test_data_diff_of_a_changed_mart_is_recorded_and_its_meta_thresholds_block(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    v1 = project.release("v1", {"dbt_project/models/marts/_marts.yml": DIFF_YML})
    project.deploy(v1)
    shrinking = {
        "dbt_project/models/marts/_marts.yml": DIFF_YML,
        "dbt_project/models/marts/fct_payments.sql": PROJECT[
            "dbt_project/models/marts/fct_payments.sql"
        ]
        + "where p.payment_id % 10 <> 0\n",
    }
    v2 = project.release("v2", shrinking)
    with pytest.raises(WarehouseDeployError, match="data diff blocks") as info:
        project.prepare(v2)
    message = str(info.value)
    assert "fct_payments: rows changed 10.0% > 5%" in message and "60 keys removed > 0" in message
    assert project.target.published(DEV)["release"] == v1.release_id
    with pytest.raises(WarehouseDeployError, match="data diff blocks"):
        project.prepare(v2)  # a retry, with the relation already built, is still refused
    (diff,) = project.target.diffs(DEV, v2.release_id)
    assert (diff.rows_live, diff.rows_new, diff.keys_added, diff.keys_removed) == (600, 540, 0, 60)
    amount = next(c for c in diff.columns if c.column == "amount")
    assert amount.sum_new is not None and amount.sum_live is not None
    assert amount.sum_new < amount.sum_live and amount.null_rate_new == 0.0
    # Without thresholds a diff is recorded, never blocking.
    v3 = project.release("v3", {k: v for k, v in shrinking.items() if k.endswith(".sql")})
    project.deploy(v3)
    assert [d.model for d in project.target.diffs(DEV, v3.release_id)] == ["fct_payments"]


def test_rollback_refreshes_the_restored_tables_in_the_background_until_counts_agree(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    v1, v2 = project.release("v1"), project.release("v2", STG_ACCOUNTS_V2)
    project.deploy(v1)
    project.deploy(v2)
    add_payment(project, 10_000_001)  # a load after v2 was built: every mart is behind now
    project.switch(v1)  # the rollback's switch: instant, v1's tables are older than v2's
    status = project.target.refresh_status(DEV)
    assert status is not None and status["state"] == "queued" and status["release"] == v1.release_id
    assert {r["model"] for r in status["relations"]} == {"dim_accounts", "fct_payments"}
    assert query(project, "select count(*) from analytics_marts_x.fct_payments")[0][0] == 600
    project.target.after_live(DEV, v1)
    done = project.target.wait_for_refresh(DEV, timeout_s=300)
    assert done is not None and done["state"] == "done", done
    assert done["started_at"] <= done["finished_at"]
    assert all(r["as_of"] == done["finished_at"] for r in done["relations"])
    staging = query(project, "select count(*) from analytics.stg_payments")[0][0]
    marts = query(project, "select count(*) from analytics_marts_x.fct_payments")[0][0]
    assert staging == marts == 601
    line = refresh_line(DEV, done)
    assert f"refreshed at {done['finished_at']}" in line and "dim_accounts, fct_payments" in line
    # Promoting v2 again: the refresh made v1's tables newer than v2's, so v2's are queued in turn.
    project.switch(v2)
    again = project.target.refresh_status(DEV)
    assert again is not None and again["state"] == "queued" and again["release"] == v2.release_id
