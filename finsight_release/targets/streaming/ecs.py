"""A consumer service on ECS: the same rollout plan, run by ECS's rolling update through boto3.

A deploy registers a task definition for the new version (the stream-consumer image, the consumer's
entry point, the version in its environment), then ``update_service`` with the deployment
configuration the local rollout follows: minimum healthy 100%, maximum 200%, and the deployment
circuit breaker with rollback. It then follows ``describe_services`` until the new deployment's
``rolloutState`` is COMPLETED, or FAILED (ECS has rolled back to the previous task definition by
then: the error names ECS's reason).

moto stores an ``update_service`` but never rolls a deployment (its rolloutState stays
IN_PROGRESS), so the tests drive this through botocore's Stubber with responses shaped like the ECS
API reference, not through moto.

Lag and last-event time come from CloudWatch (``cloudwatch.py``): MSK's ``SumOffsetLag`` and the
``LastEventTime`` the consumer's tasks publish (the task definition sets their namespace).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from finsight_release.errors import RolloutStoppedError, StreamingDeployError
from finsight_release.observe.logging import get_logger
from finsight_release.targets.streaming.cloudwatch import CONSUMER_NAMESPACE, ConsumerMetrics
from finsight_release.targets.streaming.rollout import RolloutPolicy, RolloutReport
from finsight_release.targets.streaming.service_spec import ServiceSpec

VERSION_VARIABLE = "FINSIGHT_CONSUMER_VERSION"


def deployment_configuration(policy: RolloutPolicy) -> dict[str, Any]:
    """ECS's deploymentConfiguration for ``policy``."""
    return {
        "minimumHealthyPercent": policy.minimum_healthy_percent,
        "maximumPercent": policy.maximum_percent,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }


class EcsConsumerRuntime:
    """One consumer service in an ECS cluster."""

    def __init__(
        self,
        spec: ServiceSpec,
        cluster: str,
        image: str,
        policy: RolloutPolicy,
        client: Any | None = None,
        poll_s: float = 5.0,
        timeout_s: float = 1800.0,
        metrics: ConsumerMetrics | None = None,
    ) -> None:
        import boto3

        self.spec = spec
        self.name = spec.service
        self.cluster = cluster
        self.image = image
        self.policy = policy
        self.client = client or boto3.client("ecs")
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.metrics = metrics

    def _call(self, what: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, what)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StreamingDeployError(
                f"streaming/consumer: ECS {what} for {self.name} in {self.cluster} failed: {exc}"
            ) from exc

    def _service(self) -> dict[str, Any]:
        found = self._call("describe_services", cluster=self.cluster, services=[self.name])
        services = found.get("services", [])
        if not services:
            raise StreamingDeployError(
                f"streaming/consumer: ECS service {self.name} not found in {self.cluster}"
            )
        return dict(services[0])

    def preflight(self) -> None:
        """The service exists and is ACTIVE."""
        status = self._service().get("status")
        if status != "ACTIVE":
            raise StreamingDeployError(
                f"streaming/consumer: ECS service {self.name} is {status}, not ACTIVE"
            )

    def register(self, version: str) -> str:
        """Register the task definition of ``version``; its ARN."""
        body = self._call(
            "register_task_definition",
            family=self.name,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": self.name,
                    "image": self.image,
                    "essential": True,
                    "command": [
                        "python",
                        f"consumers/{self.spec.directory}/{self.spec.entry_point}",
                    ],
                    "environment": [
                        {"name": VERSION_VARIABLE, "value": version},
                        {"name": "FINSIGHT_TOPIC", "value": self.spec.topic},
                        {"name": "FINSIGHT_GROUP_ID", "value": self.spec.group_id},
                        {"name": "FINSIGHT_SINK_TABLE", "value": self.spec.sink_table},
                        {"name": "FINSIGHT_METRICS_NAMESPACE", "value": CONSUMER_NAMESPACE},
                    ],
                }
            ],
        )
        return str(body["taskDefinition"]["taskDefinitionArn"])

    def deploy(self, version: str, code_dir: Path) -> RolloutReport:
        """Register, update the service, follow the deployment to COMPLETED or FAILED."""
        previous = self.live_version()
        report = RolloutReport(self.name, previous, version)
        started = time.monotonic()
        arn = self.register(version)
        self._call(
            "update_service",
            cluster=self.cluster,
            service=self.name,
            taskDefinition=arn,
            desiredCount=self.spec.desired_count,
            deploymentConfiguration=deployment_configuration(self.policy),
        )
        while True:
            deployment = self._deployment(arn)
            state = deployment.get("rolloutState")
            report.failed_tasks = int(deployment.get("failedTasks", 0))
            if state == "COMPLETED":
                report.rollout_s = round(time.monotonic() - started, 3)
                return report
            if state == "FAILED":
                report.rolled_back = True
                report.reason = str(deployment.get("rolloutStateReason", "no reason given"))
                raise RolloutStoppedError(
                    f"streaming/consumer: ECS circuit breaker stopped {self.name} rollout to "
                    f"{version[:12]}: {report.reason}; {previous[:12] or 'nothing'} keeps consuming",
                    report,
                )
            if time.monotonic() - started > self.timeout_s:
                raise StreamingDeployError(
                    f"streaming/consumer: ECS rollout of {self.name} to {version[:12]} still "
                    f"{state} after {self.timeout_s:g}s"
                )
            time.sleep(self.poll_s)

    def _deployment(self, task_definition: str) -> dict[str, Any]:
        for deployment in self._service().get("deployments", []):
            if deployment.get("taskDefinition") == task_definition:
                return dict(deployment)
        return {"rolloutState": "FAILED", "rolloutStateReason": "deployment replaced"}

    def stop(self) -> None:
        """Scale the service to no tasks (it stays defined: a deploy scales it up again)."""
        self._call("update_service", cluster=self.cluster, service=self.name, desiredCount=0)

    def live_version(self) -> str:
        """The version in the PRIMARY deployment's task definition ('' when none, or scaled to no
        tasks)."""
        service = self._service()
        if service.get("desiredCount") == 0:
            return ""
        primary = next(
            (d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None
        )
        arn = primary.get("taskDefinition") if primary else service.get("taskDefinition")
        if not arn:
            return ""
        body = self._call("describe_task_definition", taskDefinition=arn)
        for container in body["taskDefinition"].get("containerDefinitions", []):
            for variable in container.get("environment", []):
                if variable.get("name") == VERSION_VARIABLE:
                    return str(variable.get("value", ""))
        return ""

    def problems(self, version: str) -> list[str]:
        live = self.live_version()
        if live != version:
            return [f"{self.name} runs {live[:12] or 'nothing'}, expected {version[:12]}"]
        service = self._service()
        running, desired = service.get("runningCount", 0), service.get("desiredCount", 0)
        if running < desired:
            return [f"{self.name}: {running}/{desired} tasks running"]
        return []

    def reading(self) -> tuple[int | None, float | None]:
        """Lag and last-event time from CloudWatch (unknown without an MSK cluster configured, or
        when CloudWatch does not answer: a reading, not a deploy)."""
        if self.metrics is None:
            return None, None
        try:
            return self.metrics.reading(self.spec.group_id, self.spec.topic)
        except StreamingDeployError as exc:
            get_logger("finsight.streaming").warning("consumer metrics unread", error=str(exc))
            return None, None
