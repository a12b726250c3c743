"""The Spark job target: publish each changed job's wheel, then re-point the job definitions in one switch.

``prepare`` (per changed job not yet published in the environment): rebuild the job's directory from
the release store, take its wheel from the store or build it once per job digest (:mod:`.wheels`),
install and import it on the Spark runtime as the cluster would (:mod:`.runtime_run`), and only then
publish the wheel and the job's definition at content-addressed keys of the environment's artifact
location (:mod:`.location`). A job that does not build, resolve or import on the runtime stops the
deploy here, in one ``spark:`` line naming the job and the cause: nothing is published, nothing
switched. ``switch`` replaces the environment's ``jobs.json`` in one conditional write; a rollback is
the same switch back to the previous release's definitions (its wheels are still published).
``verify`` downloads each changed job's published wheel, installs it on the runtime and smoke-runs
``main`` on the job's sample, all jobs in one local-mode JVM.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from finsight_release.envs.environment import Environment
from finsight_release.errors import JobSpecError, SparkDeployError
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.spark.job_definitions import JobDefinition, JobDefinitions
from finsight_release.targets.spark.location import ArtifactLocation, job_name
from finsight_release.targets.spark.runtime_run import RuntimeRun, run_on_runtime
from finsight_release.targets.spark.wheels import job_wheels
from finsight_release.validate.spark.job_spec import SparkJobSpec, read_job_spec
from finsight_release.validate.spark.runtime import SparkRuntime, discover_runtime


@dataclass(frozen=True)
class PublishedSmoke:
    """A smoke run of the published artifacts ``env`` launches: per job, None or the problem."""

    environment: str
    release_id: str | None
    jobs: dict[str, str | None]

    @property
    def healthy(self) -> bool:
        return not any(self.jobs.values())

    def problems(self) -> list[str]:
        """One line per failing job."""
        return [f"{job}: {problem}" for job, problem in sorted(self.jobs.items()) if problem]


class SparkJobTarget:
    """Deploys ``spark_job`` artifacts: wheels to the artifact location, job definitions switched at once."""

    name = "spark"
    kinds = frozenset({ArtifactKind.SPARK_JOB})

    def __init__(
        self, location: ArtifactLocation, repo: ReleaseRepository, spark_python: Path
    ) -> None:
        self.location = location
        self.repo = repo
        self.spark_python = spark_python

    @cached_property
    def runtime(self) -> SparkRuntime:
        """The Spark runtime jobs are installed on; SparkDeployError when it is missing."""
        runtime = discover_runtime(self.spark_python)
        if runtime is None:
            raise SparkDeployError(
                f"spark: the Spark runtime {self.spark_python} is missing or has no pyspark "
                "(run scripts/setup.sh, or set FINSIGHT_SPARK_PYTHON)"
            )
        return runtime

    def _specs(
        self, artifacts: Sequence[Artifact], work: Path, problems: dict[str, str]
    ) -> dict[str, tuple[Artifact, SparkJobSpec]]:
        """Each job's spec, read from its files as the release store holds them."""
        specs = {}
        for artifact in artifacts:
            job = job_name(artifact.name)
            self.repo.materialize(artifact, work / "src" / artifact.source)
            try:
                specs[job] = (artifact, read_job_spec(work / "src", artifact))
            except JobSpecError as exc:
                problems[job] = exc.message
        return specs

    def _refusal(self, problems: dict[str, str]) -> SparkDeployError:
        """One line: the layer, the runtime, and each job's cause."""
        runtime = self.runtime
        causes = "; ".join(f"{job} {problem}" for job, problem in sorted(problems.items()))
        return SparkDeployError(
            f"spark: not deployable on the Spark runtime (pyspark {runtime.pyspark_version}, "
            f"Python {runtime.python_version}), nothing published or switched: {causes}"
        )

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Publish each job version not yet published in ``env``, after it imports on the runtime."""
        todo = [
            a
            for a in artifacts
            if self.location.definition(env, job_name(a.name), a.digest) is None
        ]
        if not todo:
            return
        runtime = self.runtime
        with tempfile.TemporaryDirectory(prefix="finsight-spark-deploy-") as tmp:
            work = Path(tmp)
            problems: dict[str, str] = {}
            specs = self._specs(todo, work, problems)
            wheels = job_wheels(
                repo.store,
                {job: (artifact.digest, spec) for job, (artifact, spec) in specs.items()},
                runtime.python,
                work / "wheels",
            )
            runs = []
            for job, built in wheels.items():
                if built.wheel is None:
                    problems[job] = built.problem or "does not build"
                else:
                    runs.append(RuntimeRun(job, built.wheel, specs[job][1]))
            problems.update(run_on_runtime(runs, runtime, work / "import", smoke=False))
            if problems:
                raise self._refusal(problems)
            for run in runs:
                artifact, spec = specs[run.job]
                key, sha = self.location.publish_wheel(env, run.job, run.wheel)
                self.location.publish_definition(
                    env,
                    JobDefinition(
                        job=run.job,
                        digest=artifact.digest,
                        wheel_uri=self.location.uri(key),
                        wheel_key=key,
                        wheel_sha256=sha,
                        entry_point=spec.entry_point,
                        program=spec.program,
                        spark_conf=spec.conf,
                        release_id=manifest.release_id,
                    ),
                )

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None:
        """Point ``env``'s job definitions at ``artifacts`` (and drop ``retired`` jobs) in one write."""
        current, etag = self.location.live(env)
        release_id = getattr(manifest, "release_id", None)  # None: back to before a first release
        live = []
        for artifact in artifacts:
            job = job_name(artifact.name)
            definition = self.location.definition(env, job, artifact.digest)
            if definition is None:
                raise SparkDeployError(
                    f"spark: {job} {artifact.short_digest} is not published in {env}; nothing switched"
                )
            live.append((artifact.name, definition.model_copy(update={"release_id": release_id})))
        document = current.switched(release_id, live, list(retired))
        if document != current:
            self.location.replace_live(env, document, etag)

    def live(self, env: Environment) -> JobDefinitions:
        """The job definitions ``env`` launches now."""
        return self.location.live(env)[0]

    def smoke_published(
        self, env: Environment, names: Sequence[str] | None = None
    ) -> PublishedSmoke:
        """Smoke-run the published wheels ``env`` launches (artifact names ``names``, default all)."""
        current = self.live(env)
        selected = {n: d for n, d in current.jobs.items() if names is None or n in names}
        results: dict[str, str | None] = {name: None for name in selected}
        if not selected:
            return PublishedSmoke(str(env), current.release_id, results)
        manifest = self.repo.get(current.release_id) if current.release_id else None
        artifacts = {a.name: a for a in manifest.artifacts} if manifest else {}
        with tempfile.TemporaryDirectory(prefix="finsight-spark-verify-") as tmp:
            work = Path(tmp)
            problems: dict[str, str] = {}
            missing = [n for n in selected if n not in artifacts]
            for name in missing:
                problems[job_name(name)] = f"not in release {current.release_id}"
            chosen = [artifacts[n] for n in selected if n in artifacts]
            specs = self._specs(chosen, work, problems)
            runs = []
            for job, (artifact, spec) in specs.items():
                definition = selected[artifact.name]
                try:
                    wheel = self.location.download(
                        definition.wheel_key, definition.wheel_sha256, work / "published" / job
                    )
                except SparkDeployError as exc:  # this job's artifact is damaged or gone
                    problems[job] = str(exc).removeprefix("spark: ")
                    continue
                runs.append(RuntimeRun(job, wheel, spec))
            problems.update(run_on_runtime(runs, self.runtime, work / "smoke", smoke=True))
        for name in results:
            results[name] = problems.get(job_name(name))
        return PublishedSmoke(str(env), current.release_id, results)

    def verify(
        self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]
    ) -> list[str]:
        """Each changed job is live at its digest and its published wheel smoke-runs on the runtime."""
        current = self.live(env)
        problems = []
        for artifact in artifacts:
            definition = current.jobs.get(artifact.name)
            if definition is None or definition.digest != artifact.digest:
                live = definition.digest[:12] if definition else None
                problems.append(
                    f"{job_name(artifact.name)} live at {live}, expected {artifact.short_digest}"
                )
        if problems:
            return problems
        smoke = self.smoke_published(env, [a.name for a in artifacts])
        return [f"published artifact smoke run: {p}" for p in smoke.problems()]
