"""A small dbt project over the synthetic raw tables, with every materialization the warehouse target
versions: views, tables, a custom schema (whose name has underscores), an incremental model, a snapshot
and tests. Releases of it are built into a local store for the target to deploy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import Artifact
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.local import LocalObjectStore
from finsight_release.targets.warehouse import DuckDbWarehouseTarget
from tests.mini_platform import make_platform

DEV = Environment.DEV

PROJECT = {
    "dbt_project/dbt_project.yml": (
        'name: mini\nversion: "1.0.0"\nconfig-version: 2\nprofile: mini\nmodel-paths: ["models"]\n'
        'snapshot-paths: ["snapshots"]\nflags:\n  send_anonymous_usage_stats: false\n'
        "models:\n  mini:\n    +materialized: view\n    marts:\n      +materialized: table\n"
        "      +schema: marts_x\n"
    ),
    "dbt_project/profiles.yml": (
        "mini:\n  target: duckdb\n  outputs:\n    duckdb:\n      type: duckdb\n"
        "      path: \"{{ env_var('FINSIGHT_DUCKDB_PATH') }}\"\n"
        "      schema: \"{{ env_var('FINSIGHT_DBT_SCHEMA') }}\"\n      threads: 1\n"
    ),
    "dbt_project/models/_sources.yml": (
        "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n"
        "      - name: core_banking__accounts\n      - name: payments__payments\n"
    ),
    "dbt_project/models/stg_accounts.sql": (
        "select account_id, customer_id, status from {{ source('raw', 'core_banking__accounts') }}\n"
    ),
    "dbt_project/models/stg_payments.sql": (
        "select payment_id, account_id, amount, status\n"
        "from {{ source('raw', 'payments__payments') }}\n"
    ),
    "dbt_project/models/agg_payment_status.sql": (
        "{{ config(materialized='table') }}\n"
        "select status, count(*) as payments from {{ ref('stg_payments') }} group by status\n"
    ),
    "dbt_project/models/inc_payments.sql": (
        "{{ config(materialized='incremental', unique_key='payment_id') }}\n"
        "select payment_id, amount from {{ ref('stg_payments') }}\n"
        "{% if is_incremental() %}where payment_id > (select max(payment_id) from {{ this }}){% endif %}\n"
    ),
    "dbt_project/models/marts/dim_accounts.sql": (
        "select account_id, customer_id, status from {{ ref('stg_accounts') }}\n"
    ),
    "dbt_project/models/marts/fct_payments.sql": (
        "select p.payment_id, p.amount, a.customer_id\n"
        "from {{ ref('stg_payments') }} p join {{ ref('stg_accounts') }} a using (account_id)\n"
    ),
    "dbt_project/models/marts/_marts.yml": (
        "version: 2\nmodels:\n  - name: fct_payments\n    columns:\n      - name: payment_id\n"
        "        data_tests: [not_null, unique]\n"
    ),
    "dbt_project/snapshots/accounts_snapshot.sql": (
        "{% snapshot accounts_snapshot %}\n"
        "{{ config(unique_key='account_id', strategy='timestamp', updated_at='updated_at') }}\n"
        "select account_id, status, updated_at from {{ source('raw', 'core_banking__accounts') }}\n"
        "{% endsnapshot %}\n"
    ),
}
# Only the dbt project, its profile with defaults so a code location can parse it without a
# warehouse: a platform tree whose release is one artifact (a fast module to promote through jobs).
DBT_ONLY = {
    **PROJECT,
    "dbt_project/profiles.yml": (
        "mini:\n  target: duckdb\n  outputs:\n    duckdb:\n      type: duckdb\n"
        "      path: \"{{ env_var('FINSIGHT_DUCKDB_PATH', 'mini.duckdb') }}\"\n"
        "      schema: \"{{ env_var('FINSIGHT_DBT_SCHEMA', 'analytics') }}\"\n      threads: 1\n"
    ),
}
# A change to one staging model: it and its two downstream marts get new fingerprints.
STG_ACCOUNTS_V2 = {
    "dbt_project/models/stg_accounts.sql": (
        "select account_id, customer_id, lower(status) as status\n"
        "from {{ source('raw', 'core_banking__accounts') }}\n"
    ),
}


@dataclass
class Project:
    """Releases of the mini project in one store, and a warehouse target to deploy them with."""

    root: Path
    repo: ReleaseRepository
    target: DuckDbWarehouseTarget

    def release(self, name: str, changes: dict[str, str] | None = None) -> ReleaseManifest:
        platform = make_platform(self.root / "platforms" / name, {**PROJECT, **(changes or {})})
        manifest, _ = self.repo.build(platform, "tester")
        return manifest

    def dbt(self, manifest: ReleaseManifest) -> Artifact:
        artifact = manifest.artifact("dbt/project")
        assert artifact is not None
        return artifact

    def prepare(self, manifest: ReleaseManifest, env: Environment = DEV) -> int:
        """Prepare ``manifest`` in ``env``; the number of models built."""
        self.target.prepare(env, manifest, [self.dbt(manifest)], self.repo)
        return self.target.built_models

    def switch(self, manifest: ReleaseManifest, env: Environment = DEV) -> None:
        self.target.switch(env, manifest, [self.dbt(manifest)])

    def deploy(self, manifest: ReleaseManifest, env: Environment = DEV) -> int:
        built = self.prepare(manifest, env)
        self.switch(manifest, env)
        return built


def make_project(root: Path) -> Project:
    repo = ReleaseRepository(LocalObjectStore(root / "store"))
    target = DuckDbWarehouseTarget(root / "warehouse", root / "projects")
    return Project(root, repo, target)
