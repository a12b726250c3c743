"""The job definitions an orchestrator launches: per environment, one document naming every job's wheel.

``<env>/jobs.json`` at the environment's artifact location maps each Spark job (artifact name
``spark/<job>``) to its published wheel, entry point and Spark settings, and names the release that
put that version there. A submitter (an Airflow ``SparkSubmitOperator``, an EMR step) reads it at launch
time, so replacing this one document is the whole switch: jobs launched before it run the old wheel,
jobs launched after it the new one, never a mix of versions within one job.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class JobDefinition(BaseModel):
    """One published job version: what a launch needs, and where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job: str
    digest: str  # the spark_job artifact's content digest
    wheel_uri: str
    wheel_key: str  # the wheel's key at the artifact location (content-addressed by its sha256)
    wheel_sha256: str
    entry_point: str
    program: str
    spark_conf: dict[str, str] = Field(default_factory=dict)
    release_id: str  # the release whose switch made this version live


class JobDefinitions(BaseModel):
    """What an environment launches: every live job's definition, and the release of the last switch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: str
    release_id: str | None = None
    jobs: dict[str, JobDefinition] = Field(default_factory=dict)

    def switched(
        self, release_id: str | None, live: list[tuple[str, JobDefinition]], retired: list[str]
    ) -> JobDefinitions:
        """This document with ``live`` (artifact name, definition) in place and ``retired`` names gone."""
        jobs = {name: job for name, job in self.jobs.items() if name not in retired}
        jobs.update(dict(live))
        return JobDefinitions(
            environment=self.environment, release_id=release_id, jobs=dict(sorted(jobs.items()))
        )
