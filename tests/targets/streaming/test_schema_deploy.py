"""Schema deploys through the release system (local registry) and on Glue (moto's server on
loopback): registered once, compatibility decided by the validation check's code before anything
is registered, rollback re-points without deleting a version."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from finsight_release.envs.environment import Environment
from finsight_release.errors import FinsightError, StreamingDeployError
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from finsight_release.targets.streaming.schema_registry import (
    GlueSchemaRegistry,
    LocalSchemaRegistry,
    SchemaRegistry,
)
from finsight_release.targets.streaming.target import StreamingTarget
from finsight_release.validate.streaming.compatibility import CompatibilityMode
from tests.targets.streaming.topic_releases import SUBJECT, schema_text, topic_release

DEV = Environment.DEV


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReleaseSystem:
    for name in ("FINSIGHT_KAFKA_BOOTSTRAP", "FINSIGHT_KAFKA_BOOTSTRAP_DEV"):
        monkeypatch.delenv(name, raising=False)
    return ReleaseSystem(load_settings(home=tmp_path / "home", require_validation=()))


def registry(system: ReleaseSystem) -> LocalSchemaRegistry:
    return LocalSchemaRegistry(system.settings.home / "streaming" / "dev" / "registry")


def test_promotion_registers_rollback_repoints_and_an_incompatible_schema_changes_nothing(
    system: ReleaseSystem, tmp_path: Path
) -> None:
    assert any(isinstance(t, StreamingTarget) for t in system.targets)
    r1 = topic_release(system.repo, tmp_path, "BACKWARD", "v1", consumer=None)
    r2 = topic_release(system.repo, tmp_path, "BACKWARD", "v2", consumer=None)
    system.promote(DEV, r1.release_id)
    system.promote(DEV, r2.release_id)
    reg = registry(system)
    assert [v.number for v in reg.versions(SUBJECT)] == [1, 2] and reg.live(SUBJECT) == 2

    system.rollback(DEV)
    assert reg.live(SUBJECT) == 1 and [v.number for v in reg.versions(SUBJECT)] == [1, 2]
    system.promote(DEV, r2.release_id)  # forward again: the same version, not a third one
    assert reg.live(SUBJECT) == 2 and len(reg.versions(SUBJECT)) == 2

    bad = topic_release(system.repo, tmp_path, "BACKWARD", "bad", consumer=None)
    with pytest.raises(
        FinsightError, match=r"streaming/schema: .*field 'currency' added without a default"
    ):
        system.promote(DEV, bad.release_id)
    assert reg.live(SUBJECT) == 2 and len(reg.versions(SUBJECT)) == 2
    assert system.board.read(DEV)[0].release_id == r2.release_id


def test_a_none_topic_is_refused_without_an_override(system: ReleaseSystem, tmp_path: Path) -> None:
    release = topic_release(system.repo, tmp_path, "NONE", "v1", consumer=None)
    with pytest.raises(FinsightError, match=r"streaming/schema: .* compatibility NONE: .*refused"):
        system.promote(DEV, release.release_id)
    assert registry(system).versions(SUBJECT) == []
    system.streaming_target.none_override = "replay topic, consumers drained (CHG-1234)"
    system.promote(DEV, release.release_id)
    assert registry(system).live(SUBJECT) == 1


@pytest.mark.parametrize("kind", ["local", "glue"])
def test_registry_keeps_every_version_and_moves_only_its_pointer(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    reg: SchemaRegistry
    if kind == "glue":
        endpoint = request.getfixturevalue("moto_server")
        client = boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1")
        reg = GlueSchemaRegistry(f"finsight-{tmp_path.name}"[:60], client)
    else:
        reg = LocalSchemaRegistry(tmp_path / "registry")
    mode = CompatibilityMode.BACKWARD
    assert reg.versions(SUBJECT) == [] and reg.live(SUBJECT) is None
    assert reg.register(SUBJECT, schema_text("v1"), mode) == 1
    assert reg.register(SUBJECT, schema_text("v2"), mode) == 2
    # Re-registering (other whitespace) finds the version: no new one.
    assert reg.register(SUBJECT, schema_text("v1").replace("\n", " "), mode) == 1
    reg.point(SUBJECT, 2)
    assert reg.live(SUBJECT) == 2
    reg.point(SUBJECT, 1)
    assert reg.live(SUBJECT) == 1 and [v.number for v in reg.versions(SUBJECT)] == [1, 2]
    with pytest.raises(StreamingDeployError, match="streaming/schema: .* has no version 7"):
        reg.point(SUBJECT, 7)
    assert reg.live(SUBJECT) == 1


def test_glue_deploy_decides_compatibility_itself_and_registers_with_the_topic_mode(
    moto_server: str, tmp_path: Path, system: ReleaseSystem
) -> None:
    client = boto3.client("glue", endpoint_url=moto_server, region_name="us-east-1")
    glue = GlueSchemaRegistry(f"finsight-g-{tmp_path.name}"[:60], client)
    target = StreamingTarget(tmp_path / "streaming", lambda env: glue, lambda env, spec: None)
    r1 = topic_release(system.repo, tmp_path, "FORWARD_TRANSITIVE", "v1", consumer=None)
    bad = topic_release(system.repo, tmp_path, "FULL", "bad", consumer=None)
    (a1,) = r1.of_kind(r1.artifacts[0].kind.STREAM_SCHEMA)
    target.prepare(DEV, r1, [a1], system.repo)
    target.switch(DEV, r1, [a1])
    assert target.verify(DEV, r1, [a1]) == [] and glue.live(SUBJECT) == 1
    schema = client.get_schema(SchemaId={"RegistryName": glue.registry_name, "SchemaName": SUBJECT})
    assert schema["Compatibility"] == "FORWARD_ALL" and schema["DataFormat"] == "AVRO"
    (a_bad,) = bad.of_kind(a1.kind)
    # moto would accept it (it enforces nothing): the project's check refuses it first.
    with pytest.raises(StreamingDeployError, match=r"streaming/schema: .*breaks FULL"):
        target.prepare(DEV, bad, [a_bad], system.repo)
    assert [v.number for v in glue.versions(SUBJECT)] == [1] and glue.live(SUBJECT) == 1
