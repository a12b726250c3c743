"""The warehouse janitor: drop the physical relations no protected release uses.

Protected releases come from :func:`finsight_release.envs.retention.protected_releases` (every
environment's retention window, current release and in-flight target). In each environment's
warehouse the janitor keeps every relation of a protected release's dbt project version, plus what the
published layer serves there, and drops every other relation of the physical schema, leftovers of
failed builds included. Snapshot tables are never dropped: their history cannot be rebuilt.
"""

from __future__ import annotations

from finsight_release.envs.environment import Environment
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets import published_layer as layer
from finsight_release.targets import warehouse_state as state
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA
from finsight_release.targets.virtual_layer import JanitorReport, janitor_split
from finsight_release.targets.warehouse import DuckDbWarehouseTarget
from finsight_release.targets.warehouse_by_environment import WarehouseByEnvironment

__all__ = ["JanitorReport", "protected_digests", "sweep"]


def protected_digests(repo: ReleaseRepository, releases: dict[str, str]) -> set[str]:
    """The dbt project digests of ``releases`` (a release without a dbt project protects none)."""
    digests = set()
    for release_id in releases:
        for artifact in repo.get(release_id).of_kind(ArtifactKind.DBT_PROJECT):
            digests.add(artifact.digest)
    return digests


def sweep(
    target: DuckDbWarehouseTarget, env: Environment, digests: set[str], dry_run: bool = False
) -> JanitorReport:
    """Drop the physical relations of ``env``'s warehouse that no plan of ``digests`` (nor the
    published layer) uses; ``dry_run`` only reports."""
    if isinstance(target, WarehouseByEnvironment) and target.snowflake.serves(env):
        return target.snowflake.sweep(env, digests, dry_run)
    report = JanitorReport(env)
    db = target.database(env)
    if not db.exists():
        return report
    with target.connect(db) as con:
        state.ensure(con)
        snapshots = {
            physical for _, _, _, physical, kind in state.relation_rows(con) if kind == "snapshot"
        }
        report.kept, report.dropped = janitor_split(
            state.all_plans(con),
            digests,
            state.published(con).get("digest"),
            snapshots,
            state.existing_relations(con, PHYSICAL_SCHEMA),
        )
        if dry_run:
            return report
        con.execute("begin transaction")
        for name in report.dropped:
            layer.drop_relation(con, PHYSICAL_SCHEMA, name)
        state.forget_relations(con, report.dropped)
        con.execute("commit")
    return report
