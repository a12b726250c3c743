"""The order of a topic's schema and consumer changes, per compatibility mode, with the consumer
service on ECS. moto does not roll ECS deployments, so ECS answers through botocore's Stubber with
responses shaped like the ECS API reference (DescribeServices, RegisterTaskDefinition,
UpdateService); the registry is the local one. The order is observed at the UpdateService call:
which schema version was live when the consumers started to roll."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from finsight_release.envs.environment import Environment
from finsight_release.errors import RolloutStoppedError, StreamingDeployError
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.store.local import LocalObjectStore
from finsight_release.targets.streaming.ecs import EcsConsumerRuntime
from finsight_release.targets.streaming.rollout import RolloutPolicy
from finsight_release.targets.streaming.schema_registry import LocalSchemaRegistry
from finsight_release.targets.streaming.service_spec import ServiceSpec, service_version
from finsight_release.targets.streaming.target import StreamingTarget
from tests.targets.streaming.topic_releases import SUBJECT, topic_release

DEV = Environment.DEV
CLUSTER = "finsight-dev"
ARN = "arn:aws:ecs:us-east-1:111122223333"
IMAGE = "111122223333.dkr.ecr.us-east-1.amazonaws.com/finsight/stream-consumer@sha256:" + "1" * 64


def service_body(deployments: list[dict[str, Any]]) -> dict[str, Any]:
    """A DescribeServices response for the payments_sink service."""
    return {
        "services": [
            {
                "serviceArn": f"{ARN}:service/{CLUSTER}/payments_sink",
                "serviceName": "payments_sink",
                "clusterArn": f"{ARN}:cluster/{CLUSTER}",
                "status": "ACTIVE",
                "desiredCount": 2,
                "runningCount": 2,
                "pendingCount": 0,
                "deployments": deployments,
            }
        ],
        "failures": [],
    }


def deployment(task_definition: str, state: str, reason: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "ecs-svc/1234567890123456789",
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": 2,
        "runningCount": 2 if state == "COMPLETED" else 0,
        "failedTasks": 0 if state == "COMPLETED" else 3,
        "rolloutState": state,
    }
    if reason:
        body["rolloutStateReason"] = reason
    return body


class Ecs:
    """A stubbed ECS client that expects one deploy of payments_sink and records the schema version
    live when UpdateService is called."""

    def __init__(self, registry: LocalSchemaRegistry) -> None:
        self.client = boto3.client(
            "ecs",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.stub = Stubber(self.client)
        self.live_at_update: list[int | None] = []
        self.client.meta.events.register(
            "before-parameter-build.ecs.UpdateService",
            lambda **kw: self.live_at_update.append(registry.live(SUBJECT)),
        )

    def expect_deploy(self, outcome: str = "COMPLETED", reason: str = "") -> None:
        new_td = f"{ARN}:task-definition/payments_sink:2"
        idle = service_body([])
        for _ in range(4):  # prepare: live version, preflight; switch: live version, deploy's own
            self.stub.add_response("describe_services", idle)
        self.stub.add_response(
            "register_task_definition",
            {"taskDefinition": {"taskDefinitionArn": new_td, "family": "payments_sink"}},
        )
        self.stub.add_response(
            "update_service",
            {"service": service_body([deployment(new_td, "IN_PROGRESS")])["services"][0]},
            expected_params={
                "cluster": CLUSTER,
                "service": "payments_sink",
                "taskDefinition": new_td,
                "desiredCount": 2,
                "deploymentConfiguration": {
                    "minimumHealthyPercent": 100,
                    "maximumPercent": 200,
                    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                },
            },
        )
        self.stub.add_response(
            "describe_services", service_body([deployment(new_td, "IN_PROGRESS")])
        )
        self.stub.add_response(
            "describe_services", service_body([deployment(new_td, outcome, reason)])
        )


@pytest.fixture
def repo(tmp_path: Path) -> ReleaseRepository:
    return ReleaseRepository(LocalObjectStore(tmp_path / "store"))


def deploy(target: StreamingTarget, release: ReleaseManifest, repo: ReleaseRepository) -> None:
    artifacts = release.of_kind(ArtifactKind.STREAM_SCHEMA)
    target.prepare(DEV, release, artifacts, repo)
    target.switch(DEV, release, artifacts)


def make_target(tmp_path: Path, ecs: Ecs | None, registry: LocalSchemaRegistry) -> StreamingTarget:
    def runtime(env: Environment, spec: ServiceSpec) -> EcsConsumerRuntime | None:
        if ecs is None:
            return None
        return EcsConsumerRuntime(spec, CLUSTER, IMAGE, RolloutPolicy(), ecs.client, poll_s=0)

    return StreamingTarget(tmp_path / "streaming", lambda env: registry, runtime)


@pytest.mark.parametrize(
    ("mode", "live_when_consumers_roll", "first"),
    [
        ("BACKWARD", 1, "consumer"),  # consumers first: they rolled while v1 was live
        ("BACKWARD_TRANSITIVE", 1, "consumer"),
        ("FORWARD", 2, "schema"),  # producers first: v2 was live before consumers rolled
        ("FORWARD_TRANSITIVE", 2, "schema"),
        ("FULL", 2, "schema"),  # either is safe: the registry goes first
        ("FULL_TRANSITIVE", 2, "schema"),
    ],
)
def test_schema_and_consumers_change_in_the_order_the_mode_requires(
    mode: str, live_when_consumers_roll: int, first: str, tmp_path: Path, repo: ReleaseRepository
) -> None:
    registry = LocalSchemaRegistry(tmp_path / "registry")
    make_target_without_ecs = make_target(tmp_path, None, registry)
    deploy(make_target_without_ecs, topic_release(repo, tmp_path, mode, "v1", "c1"), repo)
    assert registry.live(SUBJECT) == 1

    ecs = Ecs(registry)
    ecs.expect_deploy()
    target = make_target(tmp_path, ecs, registry)
    with ecs.stub:
        deploy(target, topic_release(repo, tmp_path, mode, "v2", "c2"), repo)
        ecs.stub.assert_no_pending_responses()
    assert ecs.live_at_update == [live_when_consumers_roll] and registry.live(SUBJECT) == 2
    assert target.steps[0].startswith(first)


def test_a_rollback_runs_the_reverse_order(tmp_path: Path, repo: ReleaseRepository) -> None:
    registry = LocalSchemaRegistry(tmp_path / "registry")
    plain = make_target(tmp_path, None, registry)
    r1 = topic_release(repo, tmp_path, "BACKWARD", "v1", "c1")
    deploy(plain, r1, repo)
    deploy(plain, topic_release(repo, tmp_path, "BACKWARD", "v2", "c2"), repo)
    assert registry.live(SUBJECT) == 2
    ecs = Ecs(registry)
    ecs.expect_deploy()
    target = make_target(tmp_path, ecs, registry)
    with ecs.stub:
        deploy(target, r1, repo)  # back to v1: producers (the registry) first, then consumers
    assert ecs.live_at_update == [1] and target.steps[0] == f"schema {SUBJECT} v1"
    assert [v.number for v in registry.versions(SUBJECT)] == [1, 2]


def test_an_ecs_circuit_breaker_rollback_stops_the_deploy_before_the_schema_moves(
    tmp_path: Path, repo: ReleaseRepository
) -> None:
    registry = LocalSchemaRegistry(tmp_path / "registry")
    deploy(
        make_target(tmp_path, None, registry),
        topic_release(repo, tmp_path, "BACKWARD", "v1", "c1"),
        repo,
    )
    ecs = Ecs(registry)
    reason = "ECS deployment circuit breaker: tasks failed to start."
    ecs.expect_deploy("FAILED", reason)
    target = make_target(tmp_path, ecs, registry)
    with (
        ecs.stub,
        pytest.raises(
            RolloutStoppedError,
            match=r"streaming/consumer: ECS circuit breaker stopped payments_sink .*tasks failed to start",
        ) as stopped,
    ):
        deploy(target, topic_release(repo, tmp_path, "BACKWARD", "v2", "c2"), repo)
    assert registry.live(SUBJECT) == 1 and len(registry.versions(SUBJECT)) == 1
    report = stopped.value.report
    assert report.rolled_back and report.failed_tasks == 3  # type: ignore[attr-defined]
    recorded = target.rollout_path(DEV, "payments_sink").read_text()
    assert '"rolled_back": true' in recorded


def test_an_ecs_api_error_names_the_layer_and_changes_nothing(
    tmp_path: Path, repo: ReleaseRepository
) -> None:
    registry = LocalSchemaRegistry(tmp_path / "registry")
    ecs = Ecs(registry)
    ecs.stub.add_response("describe_services", service_body([]))
    ecs.stub.add_client_error("describe_services", "ClusterNotFoundException", "Cluster not found.")
    with (
        ecs.stub,
        pytest.raises(
            StreamingDeployError,
            match="streaming/consumer: ECS describe_services .*Cluster not found",
        ),
    ):
        deploy(
            make_target(tmp_path, ecs, registry),
            topic_release(repo, tmp_path, "FORWARD", "v1", "c1"),
            repo,
        )
    assert registry.versions(SUBJECT) == []


def test_a_release_without_the_consumer_scales_its_ecs_service_to_zero_and_a_rollback_back_up(
    tmp_path: Path, repo: ReleaseRepository
) -> None:
    registry = LocalSchemaRegistry(tmp_path / "registry")
    r1 = topic_release(repo, tmp_path, "BACKWARD", "v1", "c1")
    deploy(make_target(tmp_path, None, registry), r1, repo)  # records the topic's consumers
    version = service_version(r1.of_kind(ArtifactKind.STREAM_SCHEMA)[0], "payments_sink")
    running_td = f"{ARN}:task-definition/payments_sink:1"

    ecs = Ecs(registry)
    ecs.stub.add_response("describe_services", service_body([deployment(running_td, "COMPLETED")]))
    ecs.stub.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": running_td,
                "containerDefinitions": [
                    {
                        "name": "payments_sink",
                        "environment": [{"name": "FINSIGHT_CONSUMER_VERSION", "value": version}],
                    }
                ],
            }
        },
        expected_params={"taskDefinition": running_td},
    )
    ecs.stub.add_response(
        "update_service",
        {"service": service_body([])["services"][0]},
        expected_params={"cluster": CLUSTER, "service": "payments_sink", "desiredCount": 0},
    )
    target = make_target(tmp_path, ecs, registry)
    with ecs.stub:
        deploy(target, topic_release(repo, tmp_path, "BACKWARD", "v1", consumer=None), repo)
        ecs.stub.assert_no_pending_responses()
    assert target.steps == ["consumer payments_sink stopped", f"schema {SUBJECT} v1"]

    ecs.expect_deploy()  # back to the release with the consumer: the service rolls out again
    with ecs.stub:
        deploy(target, r1, repo)
        ecs.stub.assert_no_pending_responses()
    assert target.steps[0] == f"consumer payments_sink {version[:12]}"
