"""The pipeline's sensors and the runs they request, driven in this process against a real instance.

What the daemon does on a tick, done on demand (the demo uses it): a sensor of the code location is
evaluated with ``dg.build_sensor_context`` on the Dagster instance, the code location's repository
(its asset graph is the lineage ``rollback_on_failed_checks`` attributes by), the release-system
resource and the cursor the sensor returned last time; each run it requests is executed with
``execute_in_process`` on that instance, with the request's run config and tags (the sensor's name
among them, as the daemon sets it), and a run key already used by the sensor is skipped, as the
daemon skips it. The instance then holds the runs, their materializations and the check evaluations
the sensors read, as after a daemon's tick. What differs from the daemon: cursors live in this
object rather than in the instance's tick history, and runs execute here rather than being launched.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.dagster_run import RunsFilter

from finsight_release.assets.judgement_checks import CONTRACT_CHECK
from finsight_release.assets.resources import ReleaseSystemResource
from finsight_release.errors import FinsightError

if TYPE_CHECKING:
    from finsight_release.system import ReleaseSystem

RUN_KEY_TAG = "dagster/run_key"
FAILED = AssetCheckExecutionRecordStatus.FAILED
QUIET_CONSOLE = {"console": {"config": {"log_level": "WARNING"}}}


@dataclass(frozen=True)
class SensorRun:
    """One run a sensor requested, as executed: its id, tags, and when it ended (``perf_counter``)."""

    run_id: str
    job: str
    tags: dict[str, str]
    success: bool
    ended_at: float


@dataclass(frozen=True)
class Tick:
    """One evaluation of a sensor: why it skipped, or the runs it requested and their outcome."""

    sensor: str
    skip_reason: str | None
    runs: tuple[SensorRun, ...] = ()

    def describe(self) -> str:
        if not self.runs:
            return f"{self.sensor}: wait: {self.skip_reason or 'nothing requested'}"
        return f"{self.sensor}: " + "; ".join(
            f"{run.job} {run.run_id[:8]} {'succeeded' if run.success else 'FAILED'}"
            for run in self.runs
        )


@dataclass
class InProcessPipeline:
    """Ticks the code location's sensors against ``instance`` and executes the runs they request."""

    instance: dg.DagsterInstance
    resource: ReleaseSystemResource
    repository: Callable[[], dg.RepositoryDefinition]
    cursors: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def for_system(
        cls,
        instance: dg.DagsterInstance,
        system: ReleaseSystem,
        repository: Callable[[], dg.RepositoryDefinition],
    ) -> InProcessPipeline:
        """Runs on ``system``'s home, platform tree and checks clock (their actor comes from the run
        tags)."""
        settings = system.settings
        resource = ReleaseSystemResource(
            home=str(settings.home),
            platform=str(settings.platform),
            checks_clock=settings.checks_clock.isoformat() if settings.checks_clock else "",
        )
        return cls(instance, resource, repository)

    def tick(self, sensor_name: str) -> Tick:
        """Evaluate ``sensor_name`` once and execute each new run it requests (one already requested
        under the same run key is skipped); a failed run is returned, not raised."""
        repository = self.repository()
        sensor = repository.get_sensor_def(sensor_name)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(sensor_name),
            resources={"release_system": self.resource},
            repository_def=repository,
        )
        data = sensor.evaluate_tick(context)
        self.cursors[sensor_name] = data.cursor
        runs = []
        for request in data.run_requests or []:
            if request.run_key and self._already_requested(sensor_name, request.run_key):
                continue
            job_name = request.job_name or sensor.job_name
            job = sensor.job if sensor.has_jobs and sensor.job.name == job_name else None
            if not isinstance(job, dg.JobDefinition):
                raise FinsightError(f"{sensor_name} requested {job_name}, which it does not target")
            tags = {**request.tags, **({RUN_KEY_TAG: request.run_key} if request.run_key else {})}
            result = job.execute_in_process(
                # The timeline reports each run; the console logger would print every step event.
                run_config={**request.run_config, "loggers": QUIET_CONSOLE},
                instance=self.instance,
                resources={"release_system": self.resource},
                tags=tags,
                raise_on_error=False,
            )
            runs.append(
                SensorRun(result.run_id, job.name, tags, result.success, time.perf_counter())
            )
        return Tick(sensor_name, data.skip_message, tuple(runs))

    def failed_check_at(self, asset: str) -> float:
        """When (``perf_counter``) the latest failing blocking check on ``asset`` (its Soda contract)
        was recorded in the instance."""
        key = dg.AssetCheckKey(dg.AssetKey([asset]), CONTRACT_CHECK)
        latest = self.instance.event_log_storage.get_latest_asset_check_execution_by_key([key])
        record = latest.get(key)
        if record is None or record.event is None or record.status is not FAILED:
            raise FinsightError(f"no failing {CONTRACT_CHECK} check recorded on {asset}")
        return time.perf_counter() - (time.time() - record.event.timestamp)

    def _already_requested(self, sensor_name: str, run_key: str) -> bool:
        runs = self.instance.get_runs(
            filters=RunsFilter(tags={RUN_KEY_TAG: run_key, "dagster/sensor_name": sensor_name}),
            limit=1,
        )
        return bool(runs)


def code_location_repository() -> Callable[[], dg.RepositoryDefinition]:
    """The code location's repository, loaded in a background thread from now (loading the 2,500
    assets takes seconds); the returned function waits for it."""
    loaded: list[dg.RepositoryDefinition] = []
    failed: list[BaseException] = []

    def load() -> None:
        try:
            # The code location's API-lifecycle warnings are for its developers, not a demo's reader.
            for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
                warnings.filterwarnings("ignore", category=category)
            from finsight_release.definitions import defs

            loaded.append(defs.get_repository_def())
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
            failed.append(exc)

    thread = threading.Thread(target=load, name="finsight-load-definitions", daemon=True)
    thread.start()

    def repository() -> dg.RepositoryDefinition:
        thread.join()
        if failed:
            raise FinsightError(f"cannot load the Dagster definitions: {failed[0]}") from failed[0]
        return loaded[0]

    return repository
