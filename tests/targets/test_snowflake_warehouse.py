"""The Snowflake warehouse target on fakesnow (Snowflake SQL run by fakesnow's in-process DuckDB):
per-model transient tables, reuse by reference, zero-copy CLONE, the published views switched in one
transaction, rollback, the janitor across three databases, and the bad inputs (a failing model, a
failing test, Snowflake unreachable mid-build, a relation dropped by hand). What fakesnow cannot run
(``ALTER SCHEMA ... SWAP WITH``, grants) is checked as the SQL text the target generates."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import fakesnow
import pytest
import snowflake.connector
from snowflake.connector.errors import OperationalError

from finsight_release.cli.releases import refresh_line
from finsight_release.envs.environment import Environment
from finsight_release.envs.promotion import Deployer
from finsight_release.errors import PromotionRefusedError, PublishError, WarehouseDeployError
from finsight_release.release.artifact import Artifact
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.system import ReleaseSystem
from finsight_release.targets import snowflake_sql as sql
from finsight_release.targets.janitor import protected_digests, sweep
from finsight_release.targets.model_plan import ModelPlan, ModelVersion
from finsight_release.targets.snowflake_warehouse import (
    Connect,
    SnowflakeEnvironment,
    SnowflakeWarehouseTarget,
    SwitchMode,
    refuse_unsupported,
)
from finsight_release.targets.warehouse_by_environment import WarehouseByEnvironment
from finsight_release.validate.warehouse.snowflake_preflight import SnowflakeIdentity
from tests.mini_platform import make_platform
from tests.targets.warehouse_project import PROJECT as DUCKDB_PROJECT
from tests.targets.warehouse_project import STG_ACCOUNTS_V2

DEV, STAGING, PROD = Environment.DEV, Environment.STAGING, Environment.PROD
DATABASES = {DEV: "ANALYTICS_DEV", STAGING: "ANALYTICS_STAGING", PROD: "ANALYTICS_PROD"}
# The mini project of the DuckDB target's tests, less its snapshot (this target deploys models only),
# with an enforced contract on fct_payments.
PROJECT = {
    **{k: v for k, v in DUCKDB_PROJECT.items() if "snapshots/" not in k},
    "dbt_project/models/marts/_marts.yml": (
        "version: 2\nmodels:\n  - name: fct_payments\n    config:\n      contract: {enforced: true}\n"
        "    columns:\n      - name: payment_id\n        data_type: integer\n"
        "        constraints: [{type: not_null}]\n        data_tests: [not_null, unique]\n"
        "      - name: amount\n        data_type: decimal(12, 2)\n"
        "      - name: customer_id\n        data_type: integer\n"
    ),
}
MODELS = (
    6  # stg_accounts, stg_payments, agg_payment_status, inc_payments, dim_accounts, fct_payments
)
BROKEN = {  # one model that fails to build, one that builds but fails its unique test
    "dbt_project/models/agg_payment_status.sql": (
        "{{ config(materialized='table') }}\n"
        "select status, count(*) as n from {{ ref('stg_payments') }} group by status\n"
    ),
    "dbt_project/models/marts/dim_accounts.sql": "select no_such_column from {{ ref('stg_accounts') }}\n",
    "dbt_project/models/marts/fct_payments.sql": (
        "select p.payment_id, p.amount, a.customer_id\n"
        "from {{ ref('stg_payments') }} p join {{ ref('stg_accounts') }} a using (account_id)\n"
        "union all select 100 as payment_id, 1.0 as amount, 10 as customer_id\n"
    ),
}


@dataclass
class Releases:
    """Releases of the mini project in one store; dbt compiles each version once for the module."""

    root: Path
    repo: ReleaseRepository
    built: dict[str, ReleaseManifest]

    def get(self, name: str, changes: dict[str, str] | None = None) -> ReleaseManifest:
        if name not in self.built:
            platform = make_platform(self.root / "platforms" / name, {**PROJECT, **(changes or {})})
            self.built[name], _ = self.repo.build(platform, "tester")
        return self.built[name]


BREACH = {  # fct_payments against its contract: a column it does not declare, a NULL key
    "dbt_project/models/marts/fct_payments.sql": (
        "select p.payment_id, p.amount, a.customer_id, 1 as extra\n"
        "from {{ ref('stg_payments') }} p join {{ ref('stg_accounts') }} a using (account_id)\n"
        "union all select null as payment_id, 1.0 as amount, 10 as customer_id, 1 as extra\n"
    ),
}
# fct_payments with a primary key and blocking diff thresholds in its meta, losing payment 103.
SHRINKING = {
    "dbt_project/models/marts/_marts.yml": (
        "version: 2\nmodels:\n  - name: fct_payments\n    config:\n      contract: {enforced: true}\n"
        "      meta: {finsight: {diff: {max_row_change_pct: 10, max_keys_removed: 0}}}\n"
        "    columns:\n      - name: payment_id\n        data_type: integer\n"
        "        constraints: [{type: not_null}, {type: primary_key}]\n"
        "        data_tests: [not_null, unique]\n"
        "      - name: amount\n        data_type: decimal(12, 2)\n"
        "      - name: customer_id\n        data_type: integer\n"
    ),
    "dbt_project/models/marts/fct_payments.sql": (
        "select p.payment_id, p.amount, a.customer_id\n"
        "from {{ ref('stg_payments') }} p join {{ ref('stg_accounts') }} a using (account_id)\n"
        "where p.payment_id <> 103\n"
    ),
}
VERSIONS = {"v1": {}, "v2": STG_ACCOUNTS_V2, "v3": BROKEN, "v4": BREACH, "v5": SHRINKING}


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    """The module's releases, each compiled by dbt once, the three compiles side by side."""
    root = tmp_path_factory.mktemp("snowflake-releases")
    built = Releases(root, ReleaseRepository(LocalObjectStore(root / "store")), {})
    manifests = [built.get(name, changes) for name, changes in VERSIONS.items()]
    target = make_warehouse(built).target
    with ThreadPoolExecutor(max_workers=len(manifests)) as pool:
        list(pool.map(lambda m: target.version(DEV, dbt(m), built.repo), manifests))
    return built


def dbt(manifest: ReleaseManifest) -> Artifact:
    artifact = manifest.artifact("dbt/project")
    assert artifact is not None
    return artifact


def identity(env: Environment) -> SnowflakeIdentity:
    return SnowflakeIdentity(
        account="finsight-test",
        user=f"SVC_DEPLOY_{str(env).upper()}",
        role="DEPLOYER",
        warehouse="TRANSFORM_WH",
        database=DATABASES[env],
        password="not-a-secret",
    )


def seed(database: str) -> None:
    """The two raw tables the mini project reads, in ``<database>.raw`` (its sources' schema)."""
    with snowflake.connector.connect(database=database) as con:
        cur = con.cursor()
        cur.execute("CREATE SCHEMA IF NOT EXISTS raw")
        cur.execute(
            "CREATE OR REPLACE TABLE raw.core_banking__accounts "
            "(account_id INT, customer_id INT, status VARCHAR, updated_at TIMESTAMP_NTZ)"
        )
        cur.execute(
            "INSERT INTO raw.core_banking__accounts VALUES "
            "(1, 10, 'OPEN', '2026-01-01'), (2, 20, 'OPEN', '2026-01-01'), "
            "(3, 30, 'CLOSED', '2026-01-01')"
        )
        cur.execute(
            "CREATE OR REPLACE TABLE raw.payments__payments "
            "(payment_id INT, account_id INT, amount NUMBER(12, 2), status VARCHAR)"
        )
        cur.execute(
            "INSERT INTO raw.payments__payments VALUES (100, 1, 10.50, 'settled'), "
            "(101, 2, 20.00, 'settled'), (102, 1, 5.25, 'failed'), (103, 3, 7.00, 'settled')"
        )


@dataclass
class Warehouse:
    """A fakesnow account with one database per environment and a target deploying into them."""

    releases: Releases
    target: SnowflakeWarehouseTarget

    def prepare(self, manifest: ReleaseManifest, env: Environment = DEV) -> int:
        self.target.prepare(env, manifest, [dbt(manifest)], self.releases.repo)
        return self.target.built_models

    def switch(self, manifest: ReleaseManifest, env: Environment = DEV) -> None:
        self.target.switch(env, manifest, [dbt(manifest)])

    def deploy(self, manifest: ReleaseManifest, env: Environment = DEV) -> int:
        built = self.prepare(manifest, env)
        self.switch(manifest, env)
        return built

    def plan(self, manifest: ReleaseManifest, env: Environment = DEV) -> ModelPlan:
        return self.target.version(env, dbt(manifest), self.releases.repo)[0]

    def query(self, statement: str, env: Environment = DEV) -> list[tuple[Any, ...]]:
        with snowflake.connector.connect(database=DATABASES[env]) as con:
            cur = con.cursor()
            cur.execute(statement)
            return [tuple(row) for row in cur.fetchall()]

    def physical(self, env: Environment = DEV) -> set[str]:
        """Names of the physical relations (tables and views) in ``env``'s database."""
        return {
            str(name).lower()
            for kind in ("tables", "views")
            for (name,) in self.query(
                f"SELECT table_name FROM information_schema.{kind} "
                "WHERE table_schema = 'FINSIGHT_PHYSICAL'",
                env,
            )
        }


def make_warehouse(
    releases: Releases,
    mode: SwitchMode = "views",
    connect: Connect | None = None,
    clone_from: dict[Environment, tuple[str, ...]] | None = None,
) -> Warehouse:
    environments = {
        str(env): SnowflakeEnvironment(
            DATABASES[env], partial(identity, env), clone_from=(clone_from or {}).get(env, ())
        )
        for env in DATABASES
    }
    target = SnowflakeWarehouseTarget(
        releases.root / "projects", environments, connect=connect, switch_mode=mode
    )
    return Warehouse(releases, target)


@pytest.fixture
def warehouse(releases: Releases) -> Iterator[Warehouse]:
    with fakesnow.patch():
        for database in DATABASES.values():
            seed(database)
        yield make_warehouse(releases)


def test_first_release_builds_every_model_and_publishes_the_custom_schema(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1 = releases.get("v1")
    assert warehouse.deploy(v1) == MODELS
    plan = warehouse.plan(v1)
    assert warehouse.physical() == {m.physical_name for m in plan.relations}
    assert warehouse.query("SELECT COUNT(*) FROM analytics.inc_payments") == [(4,)]
    assert warehouse.query("SELECT COUNT(*) FROM analytics_marts_x.fct_payments") == [(4,)]
    assert warehouse.query(
        "SELECT status, payments FROM analytics.agg_payment_status ORDER BY 1"
    ) == [
        ("failed", 1),
        ("settled", 3),
    ]
    assert warehouse.target.published(DEV)["release"] == v1.release_id
    assert warehouse.target.verify(DEV, v1, [dbt(v1)]) == []
    assert warehouse.deploy(v1) == 0  # a repeated promotion builds nothing


def test_one_staging_change_builds_it_and_its_downstream_then_rollback_is_a_switch(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1, v2 = releases.get("v1"), releases.get("v2")
    warehouse.deploy(v1)
    assert warehouse.deploy(v2) == 3  # stg_accounts and the two marts reading it
    assert warehouse.query(
        "SELECT DISTINCT status FROM analytics_marts_x.dim_accounts ORDER BY 1"
    ) == [
        ("closed",),
        ("open",),
    ]
    assert warehouse.prepare(v1) == 0  # rollback: every relation of v1 is still there
    warehouse.switch(v1)
    assert warehouse.query(
        "SELECT DISTINCT status FROM analytics_marts_x.dim_accounts ORDER BY 1"
    ) == [
        ("CLOSED",),
        ("OPEN",),
    ]
    assert warehouse.target.published(DEV)["release"] == v1.release_id
    assert warehouse.target.verify(DEV, v1, [dbt(v1)]) == []


def test_rollback_refreshes_the_restored_tables_until_staging_and_marts_agree(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1, v2 = releases.get("v1"), releases.get("v2")
    warehouse.deploy(v1)
    warehouse.query("INSERT INTO raw.payments__payments VALUES (104, 2, 3.00, 'settled')")
    warehouse.deploy(v2)  # v2's marts are built with the new payment
    warehouse.switch(v1)  # rollback: v1's marts hold the data of their (earlier) build
    counts = (
        "SELECT (SELECT COUNT(*) FROM analytics.stg_payments), "
        "(SELECT COUNT(*) FROM analytics_marts_x.fct_payments)"
    )
    assert warehouse.query(counts) == [(5, 4)]
    queued = warehouse.target.refresh_status(DEV)
    assert queued is not None and queued["state"] == "queued"
    assert sorted(r["model"] for r in queued["relations"]) == ["dim_accounts", "fct_payments"]
    assert queued["release"] == v1.release_id
    warehouse.target.after_live(DEV, v1)
    assert warehouse.query(counts) == [(5, 5)]
    done = warehouse.target.refresh_status(DEV)
    assert done is not None and done["state"] == "done"
    assert refresh_line(DEV, done).startswith(f"warehouse dev ({v1.release_id}): refreshed at ")
    warehouse.deploy(v2)  # forward again: v2's marts are older now than v1's refreshed ones
    assert warehouse.target.refresh_status(DEV)["state"] == "queued"  # type: ignore[index]


def test_a_failing_model_and_test_are_named_the_layer_stays_and_a_retry_reuses_what_built(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1 = releases.get("v1")
    warehouse.deploy(v1)
    v3 = releases.get("v3")
    with pytest.raises(WarehouseDeployError, match="(?i)dim_accounts: .*no_such_column") as info:
        warehouse.prepare(v3)
    message = str(info.value)
    assert "published layer unchanged" in message and "\n" not in message
    assert "unique_fct_payments_payment_id: 1 failing row(s)" in message
    with pytest.raises(PublishError, match="physical relations missing for dim_accounts"):
        warehouse.switch(v3)
    assert warehouse.target.published(DEV)["release"] == v1.release_id
    assert warehouse.query("SELECT COUNT(*) FROM analytics_marts_x.dim_accounts") == [(3,)]
    plan = warehouse.plan(v3).by_id()
    physical = warehouse.physical()
    assert plan["model.mini.dim_accounts"].physical_name not in physical  # failed: nothing left
    assert plan["model.mini.fct_payments"].physical_name not in physical  # its test failed: dropped
    assert plan["model.mini.agg_payment_status"].physical_name in physical
    with pytest.raises(WarehouseDeployError, match="dim_accounts"):
        warehouse.prepare(v3)
    assert warehouse.target.built_models == 1  # the retry rebuilt fct_payments, reused the agg


def test_an_enforced_contract_is_checked_on_the_relation_built(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1, v4 = releases.get("v1"), releases.get("v4")
    warehouse.deploy(v1)
    with pytest.raises(WarehouseDeployError) as info:
        warehouse.prepare(v4)
    assert (
        "fct_payments: contract: unexpected columns EXTRA; 1 row(s) with NULL in payment_id"
    ) in str(info.value)
    fct = warehouse.plan(v4).by_id()["model.mini.fct_payments"]
    assert fct.physical_name not in warehouse.physical()
    assert warehouse.target.published(DEV)["release"] == v1.release_id


def test_the_data_diff_runs_in_snowflake_sql_and_meta_thresholds_block_the_release(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1, v2, v5 = releases.get("v1"), releases.get("v2"), releases.get("v5")
    warehouse.deploy(v1)
    warehouse.deploy(v2)  # stg_accounts changed: the two tables reading it switch, within limits
    diffs = {d.model: d for d in warehouse.target.diffs(DEV, v2.release_id)}
    assert set(diffs) == {"dim_accounts", "fct_payments"}
    fct = diffs["fct_payments"]
    by_id = warehouse.plan(v2).by_id()
    assert fct.new_relation == by_id["model.mini.fct_payments"].physical_name
    assert fct.live_relation == warehouse.plan(v1).by_id()["model.mini.fct_payments"].physical_name
    assert (fct.rows_live, fct.rows_new, fct.keys_added, fct.blocking) == (4, 4, None, False)
    assert {c.column for c in fct.columns} == {"payment_id", "amount", "customer_id"}
    with pytest.raises(WarehouseDeployError, match="data diff blocks") as info:
        warehouse.prepare(v5)
    message = str(info.value)
    assert f"release {v5.release_id} in Snowflake database ANALYTICS_DEV" in message
    assert "fct_payments: rows changed 25.0% > 10%; 1 keys removed > 0" in message
    assert "published layer unchanged" in message and "\n" not in message
    assert warehouse.target.published(DEV)["release"] == v2.release_id
    with pytest.raises(WarehouseDeployError, match="data diff blocks"):
        warehouse.prepare(v5)  # a retry, with the relation already built, is still refused
    (diff,) = warehouse.target.diffs(DEV, v5.release_id)
    assert (diff.rows_live, diff.rows_new, diff.keys_added, diff.keys_removed) == (4, 3, 0, 1)
    amount = next(c for c in diff.columns if c.column == "amount")
    assert (amount.sum_live, amount.sum_new) == (42.75, 35.75)


class _Unreachable(Exception):
    pass


def cut_off_at(marker: str) -> Connect:
    """fakesnow's connect, whose sessions lose the network at the first statement naming ``marker``
    (the connector's own OperationalError, as a dropped connection raises it)."""

    class Cursor:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def execute(self, statement: str, params: Any = None) -> Any:
            if marker.upper() in statement.upper():
                raise OperationalError(
                    msg="250001: Could not connect to Snowflake backend after 2 attempt(s)",
                    errno=250001,
                )
            return self.inner.execute(statement, params)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    class Connection:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def cursor(self) -> Cursor:
            return Cursor(self.inner.cursor())

        def close(self) -> None:
            self.inner.close()

    def connect(**kwargs: Any) -> Connection:
        return Connection(snowflake.connector.connect(**kwargs))

    return connect


def test_snowflake_unreachable_mid_build_keeps_the_layer_and_the_retry_builds_the_rest(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1, v2 = releases.get("v1"), releases.get("v2")
    warehouse.deploy(v1)
    fct = warehouse.plan(v2).by_id()["model.mini.fct_payments"]
    flaky = make_warehouse(releases, connect=cut_off_at(fct.physical_name))
    with pytest.raises(
        WarehouseDeployError,
        match=r"unreachable while building fct_payments .*: 250001: Could not connect",
    ):
        flaky.prepare(v2)
    assert warehouse.target.published(DEV)["release"] == v1.release_id
    assert fct.physical_name not in warehouse.physical()
    assert warehouse.deploy(v2) == 1  # stg_accounts and dim_accounts were built before the cut
    assert warehouse.target.verify(DEV, v2, [dbt(v2)]) == []


def test_a_view_switch_interrupted_midway_rolls_back_every_view_to_the_old_release(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1, v2 = releases.get("v1"), releases.get("v2")
    warehouse.deploy(v1)
    warehouse.prepare(v2)
    flaky = make_warehouse(releases, connect=cut_off_at("VIEW analytics_marts_x.fct_payments"))
    with pytest.raises(PublishError, match=r"publishing .* failed: .*250001"):
        flaky.switch(v2)  # stg_accounts and dim_accounts were switched in the transaction already
    assert warehouse.query("SELECT DISTINCT status FROM analytics.stg_accounts ORDER BY 1") == [
        ("CLOSED",),
        ("OPEN",),
    ]
    assert warehouse.target.published(DEV)["release"] == v1.release_id
    assert warehouse.target.verify(DEV, v1, [dbt(v1)]) == []


def test_snowflake_unreachable_at_login_is_one_line_naming_database_and_user(
    releases: Releases,
) -> None:
    def refuse(**kwargs: Any) -> Any:
        raise OperationalError(msg="250003: Failed to connect: timed out", errno=250003)

    target = make_warehouse(releases, connect=refuse).target
    with pytest.raises(WarehouseDeployError) as info:
        target.published(PROD)
    assert str(info.value) == (
        "cannot connect to Snowflake database ANALYTICS_PROD of prod as SVC_DEPLOY_PROD on account "
        "finsight-test: 250003: Failed to connect: timed out"
    )


def test_a_relation_dropped_by_hand_refuses_the_switch_and_prepare_rebuilds_it(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1, v2 = releases.get("v1"), releases.get("v2")
    warehouse.deploy(v1)
    warehouse.deploy(v2)
    dim = warehouse.plan(v1).by_id()["model.mini.dim_accounts"]
    warehouse.query(f"DROP TABLE finsight_physical.{dim.physical_name}")
    with pytest.raises(PublishError, match="physical relations missing for dim_accounts"):
        warehouse.switch(v1)
    assert warehouse.target.published(DEV)["release"] == v2.release_id
    assert warehouse.prepare(v1) == 1
    warehouse.switch(v1)
    assert warehouse.target.verify(DEV, v1, [dbt(v1)]) == []


def test_zero_copy_clone_from_another_database_replaces_the_build_of_each_table(
    releases: Releases,
) -> None:
    with fakesnow.patch():
        for database in DATABASES.values():
            seed(database)
        wh = make_warehouse(releases, clone_from={STAGING: ("ANALYTICS_DEV",)})
        v1 = releases.get("v1")
        wh.deploy(v1, DEV)
        assert wh.deploy(v1, STAGING) == MODELS
        assert wh.target.cloned_models == 4  # the tables; the two staging views are created
        assert wh.query("SELECT COUNT(*) FROM analytics_marts_x.fct_payments", STAGING) == [(4,)]
        assert wh.target.verify(STAGING, v1, [dbt(v1)]) == []


def test_janitor_keeps_what_any_of_three_environments_serves_and_drops_the_rest(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1, v2 = releases.get("v1"), releases.get("v2")
    warehouse.deploy(v1, DEV)
    warehouse.deploy(v2, DEV)
    warehouse.deploy(v1, STAGING)
    warehouse.deploy(v2, PROD)
    p1, p2 = warehouse.plan(v1), warehouse.plan(v2)
    only_v1 = {m.physical_name for m in p1.relations} - {m.physical_name for m in p2.relations}
    assert len(only_v1) == 3
    dry = warehouse.target.sweep(DEV, set(), dry_run=True)
    assert set(dry.dropped) == only_v1 and warehouse.physical(DEV) >= only_v1
    kept = warehouse.target.sweep(DEV, {dbt(v1).digest})  # v1 still in dev's retention window
    assert kept.dropped == [] and warehouse.physical(DEV) >= only_v1
    swept = warehouse.target.sweep(DEV, set())
    assert set(swept.dropped) == only_v1 and not warehouse.physical(DEV) & only_v1
    assert warehouse.target.sweep(STAGING, set()).dropped == []  # staging serves v1
    assert warehouse.target.sweep(PROD, set()).dropped == []
    assert warehouse.target.verify(DEV, v2, [dbt(v2)]) == []
    assert warehouse.target.verify(STAGING, v1, [dbt(v1)]) == []


def test_swap_mode_fails_on_fakesnow_at_the_swap_and_leaves_the_layer_as_it_was(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1, v2 = releases.get("v1"), releases.get("v2")
    warehouse.deploy(v1)
    swapping = make_warehouse(releases, mode="swap")
    swapping.prepare(v2)
    with pytest.raises(PublishError, match=r"publishing .* failed: .*SWAP"):
        swapping.switch(v2)
    assert warehouse.target.published(DEV)["release"] == v1.release_id
    assert warehouse.target.verify(DEV, v1, [dbt(v1)]) == []


# --- SQL text: what fakesnow cannot run ---------------------------------------------------------


def test_swap_switch_builds_each_shadow_schema_with_grants_then_swaps_it_in(
    warehouse: Warehouse, releases: Releases
) -> None:
    plan = warehouse.plan(releases.get("v1"))
    fct = plan.by_id()["model.mini.fct_payments"]
    statements = sql.swap_switch(plan, reader_roles=["ANALYST"])
    assert statements[:1] == ["CREATE OR REPLACE TRANSIENT SCHEMA analytics__finsight_next"]
    assert (
        "CREATE OR REPLACE VIEW analytics_marts_x__finsight_next.fct_payments AS "
        f"SELECT * FROM finsight_physical.{fct.physical_name}"
    ) in statements
    assert (
        "GRANT SELECT ON ALL VIEWS IN SCHEMA analytics__finsight_next TO ROLE ANALYST" in statements
    )
    swaps = [s for s in statements if "SWAP" in s]
    assert swaps == [
        "ALTER SCHEMA analytics SWAP WITH analytics__finsight_next",
        "ALTER SCHEMA analytics_marts_x SWAP WITH analytics_marts_x__finsight_next",
    ]
    # every view and grant of a schema precedes its swap; the shadows are dropped after
    first_swap = statements.index(swaps[0])
    assert all("CREATE OR REPLACE VIEW" not in s for s in statements[first_swap:])
    assert statements[-1] == "DROP SCHEMA IF EXISTS analytics_marts_x__finsight_next"


def test_generated_sql_reads_physical_relations_and_snowflake_sources(
    warehouse: Warehouse, releases: Releases
) -> None:
    v1 = releases.get("v1")
    plan, project_sql = warehouse.target.version(DEV, dbt(v1), releases.repo)
    by_id = plan.by_id()
    stg = project_sql.models["model.mini.stg_accounts"]
    assert "FROM ANALYTICS_DEV.raw.core_banking__accounts" in stg
    fct = project_sql.models["model.mini.fct_payments"]
    assert f"finsight_physical.{by_id['model.mini.stg_payments'].physical_name} AS p" in fct
    fct_name = by_id["model.mini.fct_payments"].physical_name
    assert sql.create_physical(by_id["model.mini.fct_payments"], fct).startswith(
        f"CREATE OR REPLACE TRANSIENT TABLE finsight_physical.{fct_name} AS SELECT"
    )
    assert sql.create_physical(by_id["model.mini.stg_accounts"], stg).startswith(
        "CREATE OR REPLACE VIEW finsight_physical.stg_accounts__"
    )
    assert sql.clone_physical(by_id["model.mini.fct_payments"], "ANALYTICS_DEV").endswith(
        f"CLONE ANALYTICS_DEV.finsight_physical.{fct_name}"
    )


# --- wiring: AWS mode picks the warehouse per environment from its config ---------------------------

STAGING_CONFIG = """environment: staging
aws: {account_id: "111122223333"}
airflow: {target: local}
warehouse:
  type: snowflake
  account: finsight-test
  database: ANALYTICS_STAGING
  warehouse: TRANSFORM_WH
  role: DEPLOYER
  user: SVC_DEPLOY_STAGING
  password_secret: env:FINSIGHT_TEST_SNOWFLAKE_STAGING_PASSWORD
connections: {}
variables: {}
"""
DEV_CONFIG = """environment: dev
aws: {account_id: "111122223333"}
airflow: {target: local}
warehouse: {type: duckdb, database: dev}
connections: {}
variables: {}
"""


def test_aws_mode_promotes_and_rolls_back_snowflake_environments_through_the_deployer(
    releases: Releases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configs = {
        "release_assets/config/staging.yaml": STAGING_CONFIG,
        "release_assets/config/dev.yaml": DEV_CONFIG,
    }
    trees = {
        name: make_platform(tmp_path / name, {**PROJECT, **configs, **VERSIONS[name]})
        for name in ("v1", "v2")
    }
    monkeypatch.setenv("FINSIGHT_MODE", "aws")
    monkeypatch.setenv("FINSIGHT_PLATFORM", str(trees["v1"]))
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINSIGHT_TEST_SNOWFLAKE_STAGING_PASSWORD", "not-a-secret")
    system = ReleaseSystem(load_settings(require_validation=(), retain_releases=1))
    target = system.warehouse_target
    assert isinstance(target, WarehouseByEnvironment)
    assert target.snowflake.serves(STAGING) and not target.snowflake.serves(DEV)
    assert target.snowflake.switch_mode == "swap"  # Snowflake's atomic switch ...
    target.snowflake.switch_mode = "views"  # ... which fakesnow cannot run
    # the project copies and compiled manifests of this module's releases (dbt compiles once)
    shutil.copytree(releases.root / "projects", target.projects_dir, dirs_exist_ok=True)
    v1, v2 = (system.build(tree)[0] for tree in trees.values())
    assert dbt(v1).digest == dbt(releases.get("v1")).digest
    # The real Deployer with the warehouse target alone (the system's other AWS targets would need
    # their own AWS endpoints), on the system's store, audit log and retention.
    deployer = Deployer(
        repo=system.repo, targets=[target], audit=system.audit, actor="tester", retain_releases=1
    )
    with fakesnow.patch():
        seed("ANALYTICS_STAGING")
        for manifest in (v1, v2):
            deployer.promote(STAGING, manifest.release_id, override_reason="snowflake test")
        assert target.published(STAGING)["release"] == v2.release_id
        assert target.built_models == 3  # v2: stg_accounts and the two marts reading it
        # v2's data diffs, measured in Snowflake, ride on the release's evidence: the validation
        # report and the deployment's materialization (the instance recorder, promote_job) read
        # ReleaseSystem.data_diffs (tests/assets/test_data_diff_attachment.py).
        diffs = system.data_diffs(v2.release_id)
        assert sorted((d.environment, d.diff.model) for d in diffs) == [
            ("staging", "dim_accounts"),
            ("staging", "fct_payments"),
        ]
        fct = next(d.diff for d in diffs if d.diff.model == "fct_payments")
        assert (fct.rows_live, fct.rows_new, fct.verdict()) == (4, 4, "within limits")
        with pytest.raises(PromotionRefusedError, match="outside staging's retention window"):
            deployer.rollback(STAGING)  # the window is the last 1 release
        assert target.published(STAGING)["release"] == v2.release_id
        deployer.retain_releases = 2
        deployer.rollback(STAGING)
        assert target.published(STAGING)["release"] == v1.release_id
        assert target.verify(STAGING, v1, [dbt(v1)]) == []
        refresh = target.refresh_status(STAGING)  # the Deployer ran it once the rollback was live
        assert refresh is not None and (refresh["state"], refresh["release"]) == (
            "done",
            v1.release_id,
        )
        # The post-deploy judge reads staging's Snowflake database (its dbt tests; this project
        # has no contracts or freshness SLAs: tests/checks/test_snowflake_checks.py has them) and
        # settles the release's health there from the evidence.
        judgement = system.judge(STAGING)
        assert (judgement.release_id, judgement.verdict) == (v1.release_id, "passed")
        assert {(r.kind, r.name) for r in judgement.results} == {
            ("dbt_test", "not_null_fct_payments_payment_id"),
            ("dbt_test", "unique_fct_payments_payment_id"),
        }
        health = system.deployer.ledger.health(STAGING, v1.release_id)
        assert health is not None and health.healthy
        report = sweep(
            target, STAGING, protected_digests(system.repo, {v1.release_id: "", v2.release_id: ""})
        )
        assert report.dropped == [] and len(report.kept) == MODELS + 3  # both in the window
        assert len(sweep(target, STAGING, set()).dropped) == 3  # v2's own relations
    assert not target.database(STAGING).exists()  # nothing of staging went to a DuckDB file
    monkeypatch.delenv("FINSIGHT_TEST_SNOWFLAKE_STAGING_PASSWORD")
    with pytest.raises(WarehouseDeployError, match="credential env:FINSIGHT_TEST_SNOWFLAKE_"):
        target.published(STAGING)
    assert target.refresh_status(STAGING) is None  # status goes on without the warehouse


def test_a_project_version_with_a_snapshot_or_seed_is_refused_naming_them() -> None:
    def node(name: str, kind: str) -> ModelVersion:
        return ModelVersion(
            unique_id=f"{kind}.mini.{name}",
            name=name,
            resource_type=kind,
            materialized=kind if kind != "model" else "table",
            fingerprint="f" * 64,
            published_schema="analytics",
            published_name=name,
        )

    refuse_unsupported(ModelPlan(digest="d" * 64, models=(node("fct_payments", "model"),)))
    plan = ModelPlan(
        digest="d" * 64,
        models=(node("accounts_snapshot", "snapshot"), node("country_codes", "seed")),
    )
    with pytest.raises(WarehouseDeployError) as info:
        refuse_unsupported(plan)
    assert str(info.value) == (
        "dbt project dddddddddddd has snapshot accounts_snapshot, seed country_codes: the Snowflake "
        "target deploys models only (run snapshots and seeds with dbt)"
    )
