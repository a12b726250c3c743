from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from finsight_release.envs.environment import Environment
from finsight_release.envs.operation import OperationState
from finsight_release.envs.pointer import PointerBoard
from finsight_release.envs.promotion import Deployer
from finsight_release.errors import (
    PromotionFailedError,
    PromotionRefusedError,
    StaleCasTokenError,
    UnknownEnvironmentError,
    UnknownReleaseError,
)
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.local import LocalObjectStore
from finsight_release.targets.folder import FolderTarget
from tests.mini_platform import make_platform

DEV, STAGING, PROD = Environment.DEV, Environment.STAGING, Environment.PROD


class ListAudit:
    """Collects audit events in memory (the real log is tested in tests/audit)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def append(self, **fields: Any) -> dict[str, Any]:
        self.events.append(fields)
        return fields

    def actions(self) -> list[tuple[str, str]]:
        return [(e["action"], e["outcome"]) for e in self.events]


class FailingTarget:
    """A target whose verify fails while ``fail`` is set (a broken deploy)."""

    name = "flaky"
    kinds = frozenset({ArtifactKind.DBT_PROJECT})

    def __init__(self) -> None:
        self.fail = False
        self.applied: list[str] = []

    def prepare(self, env: Any, manifest: Any, artifacts: Any, repo: Any) -> None:
        pass

    def switch(self, env: Any, manifest: Any, artifacts: Any, retired: Any = ()) -> None:
        self.applied.append(manifest.release_id)

    def verify(self, env: Any, manifest: Any, artifacts: Any) -> list[str]:
        return ["dbt tests failed"] if self.fail else []


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    repo = ReleaseRepository(LocalObjectStore(tmp_path / "store"))
    folder = FolderTarget(
        tmp_path / "targets", frozenset(ArtifactKind) - {ArtifactKind.DBT_PROJECT}
    )
    flaky = FailingTarget()
    audit = ListAudit()
    deployer = Deployer(repo=repo, targets=[folder, flaky], audit=audit, actor="alice")
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "alice")
    p2 = make_platform(tmp_path / "p2", {"release_assets/airflow/dags/ingest_core.py": "# v2\n"})
    v2, _ = repo.build(p2, "alice", base=v1)
    return {
        "repo": repo,
        "folder": folder,
        "flaky": flaky,
        "audit": audit,
        "d": deployer,
        "v1": v1,
        "v2": v2,
    }


def checks_passed(d: Deployer, env: Environment, release_id: str) -> None:
    """What the post-deploy checks record when they pass (ReleaseSystem.judge in the product)."""
    d.mark_health(env, release_id, True, "post-deploy checks passed")


def promote_all(d: Deployer, release_id: str) -> None:
    for env in (DEV, STAGING, PROD):
        d.promote(env, release_id)
        checks_passed(d, env, release_id)


def test_promote_through_envs_and_rollback(world: dict[str, Any]) -> None:
    d, v1, v2, folder = world["d"], world["v1"], world["v2"], world["folder"]
    promote_all(d, v1.release_id)
    dags = folder.live_path(PROD, "airflow/dags")
    assert (dags / "ingest_core.py").read_text().startswith("# dag one")
    promote_all(d, v2.release_id)
    assert (dags / "ingest_core.py").read_text() == "# v2\n"
    record = d.rollback(PROD)
    assert record.state is OperationState.LIVE and record.to_release == v1.release_id
    assert (dags / "ingest_core.py").read_text().startswith("# dag one")
    history = PointerBoard(world["repo"].store).history(PROD)
    assert [h.release_id for h in history] == [v1.release_id, v2.release_id, v1.release_id]
    assert ("rollback", "ok") in world["audit"].actions()


def test_repeat_promotion_is_noop(world: dict[str, Any]) -> None:
    d, v1 = world["d"], world["v1"]
    first = d.promote(DEV, v1.release_id)
    events = len(world["audit"].events)
    again = d.promote(DEV, v1.release_id)
    assert again.id == first.id and again.state is OperationState.LIVE
    assert len(world["audit"].events) == events
    assert PointerBoard(world["repo"].store).read(DEV)[0].seq == 1


def test_order_enforced_unless_audited_override(world: dict[str, Any]) -> None:
    d, v1 = world["d"], world["v1"]
    with pytest.raises(PromotionRefusedError, match="not live in staging"):
        d.promote(PROD, v1.release_id)
    assert PointerBoard(world["repo"].store).read(PROD)[0].release_id is None
    assert world["audit"].events[-1]["action"] == "refuse"
    d.promote(PROD, v1.release_id, override_reason="INC-4211 hotfix")
    assert ("override", "ok") in world["audit"].actions()


def test_unhealthy_in_staging_blocks_prod(world: dict[str, Any]) -> None:
    d, v1 = world["d"], world["v1"]
    d.promote(DEV, v1.release_id)
    with pytest.raises(PromotionRefusedError, match="not healthy in dev: live by .* awaiting"):
        d.promote(STAGING, v1.release_id)  # live is not healthy: only passing checks make it so
    checks_passed(d, DEV, v1.release_id)
    d.promote(STAGING, v1.release_id)
    d.mark_health(STAGING, v1.release_id, healthy=False, reason="soda: payments freshness failed")
    with pytest.raises(PromotionRefusedError, match="not healthy in staging: soda"):
        d.promote(PROD, v1.release_id)


def test_failed_verification_restores_previous(world: dict[str, Any]) -> None:
    d, v1, v2, flaky = world["d"], world["v1"], world["v2"], world["flaky"]
    promote_all(d, v1.release_id)
    p3 = make_platform(
        world["repo"].store.root.parent / "p3",
        {"dbt_project/models/stg_accounts.sql": "select 2\n"},
    )
    v3, _ = world["repo"].build(p3, "alice")
    flaky.fail = True
    with pytest.raises(PromotionFailedError, match="rolled back to"):
        d.promote(DEV, v3.release_id)
    pointer, _ = PointerBoard(world["repo"].store).read(DEV)
    assert pointer.release_id == v1.release_id and pointer.pending is None
    assert flaky.applied[-1] == v1.release_id
    assert ("fail", "failed") in world["audit"].actions()
    del v2


def test_bad_input_refused_and_audited(world: dict[str, Any]) -> None:
    d = world["d"]
    with pytest.raises(UnknownReleaseError, match="r-nope"):
        d.promote(DEV, "r-nope")
    assert world["audit"].events[-1]["outcome"] == "refused"
    with pytest.raises(UnknownEnvironmentError, match="qa"):
        Environment.parse("qa")
    with pytest.raises(PromotionRefusedError, match="no earlier release"):
        d.rollback(DEV)


def test_crash_mid_switch_resumes(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    d, v1, folder = world["d"], world["v1"], world["folder"]
    original = folder.switch
    monkeypatch.setattr(folder, "switch", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):  # a crash, not an error: no restore runs
        d.promote(DEV, v1.release_id)
    pointer, _ = PointerBoard(world["repo"].store).read(DEV)
    assert pointer.pending and pointer.release_id is None
    with pytest.raises(PromotionRefusedError, match="busy"):  # this process (the owner) still runs
        d.promote(DEV, world["v2"].release_id)
    monkeypatch.setattr(folder, "switch", original)
    with pytest.raises(PromotionRefusedError, match="busy"):
        d.promote(DEV, v1.release_id)  # the same command, but its owner is alive: not resumed twice
    record = d.ledger.get(DEV, pointer.pending or "")
    assert record is not None and record.state is OperationState.SWITCHING and record.switched == ()
    d.ledger.save(record.model_copy(update={"owner": "gone-host-is-this-one:1:x"}))
    monkeypatch.setattr("finsight_release.envs.promotion.owner_status", lambda owner: "gone")
    record = d.promote(DEV, v1.release_id)
    assert record.state is OperationState.LIVE
    states = [t.state for t in record.transitions]
    assert states[:3] == [
        OperationState.PLANNED,
        OperationState.PREPARING,
        OperationState.SWITCHING,
    ]


def test_concurrent_promotions_exactly_one_wins(world: dict[str, Any]) -> None:
    repo, v1, v2 = world["repo"], world["v1"], world["v2"]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def run(release_id: str) -> None:
        d = Deployer(repo=repo, targets=[world["folder"]], audit=ListAudit(), actor="x")
        barrier.wait()
        try:
            d.promote(DEV, release_id)
            outcomes.append("won")
        except (PromotionRefusedError, StaleCasTokenError) as exc:
            outcomes.append(f"lost: {exc}")

    threads = [threading.Thread(target=run, args=(r,)) for r in (v1.release_id, v2.release_id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["lost", "won"]
    pointer, _ = PointerBoard(repo.store).read(DEV)
    assert pointer.seq == 1 and pointer.pending is None


def test_promote_and_rollback_on_s3_store(tmp_path: Path, moto_server: str) -> None:
    """The same state machine on S3: pointer CAS with If-Match / If-None-Match over HTTP (moto)."""
    import boto3

    from finsight_release.store.s3 import S3ObjectStore

    client = boto3.client("s3", region_name="us-east-1")
    bucket = f"finsight-state-{tmp_path.name.lower().replace('_', '-')[-30:]}"
    client.create_bucket(Bucket=bucket)
    repo = ReleaseRepository(S3ObjectStore(f"s3://{bucket}/finsight", client=client))
    folder = FolderTarget(tmp_path / "targets", frozenset({ArtifactKind.AIRFLOW_DAGS}))
    deployer = Deployer(repo=repo, targets=[folder], audit=ListAudit(), actor="ci")
    v1, _ = repo.build(make_platform(tmp_path / "p1"), "ci")
    v2, _ = repo.build(
        make_platform(tmp_path / "p2", {"release_assets/airflow/dags/ingest_core.py": "# v2\n"}),
        "ci",
    )
    deployer.promote(DEV, v1.release_id)
    deployer.promote(DEV, v2.release_id)
    assert deployer.rollback(DEV).to_release == v1.release_id
    board = PointerBoard(repo.store)
    assert [p.release_id for p in board.history(DEV)] == [
        v1.release_id,
        v2.release_id,
        v1.release_id,
    ]
    pointer, token = board.read(DEV)
    board.swap(pointer, token, pointer.model_copy(update={"pending": "someone-else"}))
    with pytest.raises(StaleCasTokenError, match="changed since it was read"):
        board.swap(pointer, token, pointer.model_copy(update={"pending": "me"}))


class RecordingGate:
    """A gate that notes whether the environment was claimed when it ran, then refuses (or crashes)."""

    name = "probe"

    def __init__(self, board: PointerBoard, crash: bool = False) -> None:
        self.board, self.crash = board, crash
        self.pending_seen: list[str | None] = []

    def check(self, env: Any, manifest: Any, change_set: Any) -> str | None:
        self.pending_seen.append(self.board.read(env)[0].pending)
        if self.crash:
            raise OSError("IO Error: Could not set lock on file dev.duckdb")
        return "live schema differs"


@pytest.mark.parametrize("crash", [False, True])
def test_gates_run_under_the_claim_and_a_refusal_releases_it(
    world: dict[str, Any], crash: bool
) -> None:
    repo, v1 = world["repo"], world["v1"]
    board = PointerBoard(repo.store)
    gate = RecordingGate(board, crash)
    audit = ListAudit()
    d = Deployer(repo=repo, targets=[world["folder"]], audit=audit, actor="alice", gates=[gate])
    with pytest.raises(
        PromotionRefusedError, match="could not run: OSError" if crash else "live schema differs"
    ):
        d.promote(DEV, v1.release_id)
    assert gate.pending_seen[0] and gate.pending_seen[0].startswith(
        "promote-dev-"
    )  # claimed, then checked
    pointer = board.read(DEV)[0]
    assert pointer.pending is None and pointer.release_id is None
    refusal = audit.events[-1]
    assert refusal["action"] == "refuse" and refusal["details"]["claim"] == "released"
    record = d.ledger.get(DEV, refusal["details"]["operation_id"])
    assert record is not None and record.state is OperationState.REFUSED
    assert world["folder"].live_digest(DEV, "airflow/dags") is None  # no target touched


class BrokenBackTarget(FailingTarget):
    """Fails verification of the new release, then cannot switch back while ``locked`` (the incident)."""

    def __init__(self, back_to: str) -> None:
        super().__init__()
        self.back_to, self.locked = back_to, True

    def switch(self, env: Any, manifest: Any, artifacts: Any, retired: Any = ()) -> None:
        if manifest.release_id == self.back_to and self.locked:
            raise OSError("IO Error: Could not set lock on file")
        super().switch(env, manifest, artifacts, retired)


def test_failed_restore_keeps_the_claim_audited_and_rollback_takes_over(
    world: dict[str, Any],
) -> None:
    repo, v1, audit = world["repo"], world["v1"], world["audit"]
    d = world["d"]
    promote_all(d, v1.release_id)
    target = BrokenBackTarget(v1.release_id)
    target.fail = True
    d = Deployer(repo=repo, targets=[target, world["folder"]], audit=audit, actor="alice")
    p3 = make_platform(
        repo.store.root.parent / "p3", {"dbt_project/models/stg_accounts.sql": "select 3\n"}
    )
    v3, _ = repo.build(p3, "alice")
    with pytest.raises(PromotionFailedError, match="restoring .* failed too.*resolve dev --abort"):
        d.promote(DEV, v3.release_id)
    board = PointerBoard(repo.store)
    pointer = board.read(DEV)[0]
    assert pointer.pending and pointer.release_id == v1.release_id
    assert ("restore", "failed") in audit.actions()
    with pytest.raises(PromotionRefusedError, match="busy"):
        d.promote(DEV, world["v2"].release_id)
    with pytest.raises(PromotionFailedError, match="aborting promote .* failed too"):
        d.resolve(
            DEV, "abort", "INC-3 still locked"
        )  # the operator tries too early: audited, claim kept
    assert board.read(DEV)[0].pending and audit.actions()[-1] == ("restore", "failed")
    target.locked, target.fail = False, False
    record = d.rollback(DEV)  # takes over the failed promotion (its owner gave it up)
    assert record.kind == "promote" and record.state is OperationState.ROLLED_BACK
    pointer = board.read(DEV)[0]
    assert pointer.pending is None and pointer.release_id == v1.release_id
    assert target.applied[-1] == v1.release_id
    assert (
        audit.events[-1]["action"] == "rollback" and audit.events[-1]["details"]["by"] == "rollback"
    )
