"""Self-managed Airflow (on ECS, or any host reading a dags folder): the folder switch, verified through
Airflow's REST API.

The DAG bundle is still published by :class:`FolderTarget`'s atomic symlink swap. Around it, when the
environment has an Airflow API configured (:func:`endpoints_from_environ`):

1. ``prepare`` (before any target switches): the bundle's paths stay inside the target, the dags
   folder is writable, the API answers and accepts the credentials. A failure here changes nothing.
2. ``switch``: the DAGs the release changes (those of changed DAG files and of DAG files importing a
   changed module, :meth:`DagBundle.affected_dag_files`) that are not paused are paused through the
   API and recorded (``<root>/<env>/airflow-paused.json``, so a crash never loses who paused what).
   **In-flight policy**: the switch waits up to ``inflight_wait_s`` for their queued and running DAG
   runs to finish; runs still going after that stop the deploy before the swap (the live version is
   untouched). Letting them finish on the old files is not possible with one dags folder: every task
   re-imports its DAG file from the live folder when it starts.
3. The changed files' mtimes are set to now (content, hence digests, unchanged): Airflow re-parses a
   file modified after its last parse first (``file_parsing_sort_mode = modified_time``) and updates
   its stored source only when the mtime is newer, which a rollback to older files would not be.
4. The symlink swap, then a priority parse request for each changed file Airflow already knows
   (``PUT /parseDagFile/{file_token}``); a new file is found by the next directory listing.
5. Checks, each named in the error that stops the deploy (the Deployer then switches back and the
   audit's ``fail`` event carries the message): ``airflow.parse`` every affected DAG file is parsed
   after the swap within ``parse_timeout_s``; ``airflow.import_errors`` none for the bundle's files;
   ``airflow.registration`` each affected DAG is registered from its file (``fileloc``), parsed after
   the swap (``last_parsed_time``), and Airflow's stored source is the release's file.
6. The DAGs paused in step 2 are unpaused.
7. ``airflow.smoke`` (for the changed DAGs listed in ``AirflowDeployPolicy.smoke_dags``): a run
   triggered through the API must start and succeed (:mod:`~finsight_release.targets.airflow_start`);
   a task that needs a connection the running Airflow lacks fails here, with the log's error line.

The Deployer's restore goes through :meth:`SelfManagedAirflowTarget.switch_back`: the previous bundle
is swapped back whatever Airflow answers (its checks are logged, never raised), so a restore cannot
leave the environment claimed because Airflow is down.

The target keeps the name ``folder``: operation records, fault points and the switch order are the
folder target's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from finsight_release.envs.environment import Environment
from finsight_release.errors import AirflowApiError, TargetError
from finsight_release.observe.logging import get_logger
from finsight_release.one_line import one_line
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.airflow_api import AirflowApi, AirflowEndpoint, parse_time
from finsight_release.targets.airflow_start import StartCheck, StartResult, measure_starts
from finsight_release.targets.canary import canary_overlay
from finsight_release.targets.folder import FolderTarget, make_readable
from finsight_release.validate.airflow.bundle import DagBundle

DAGS = "airflow/dags"
ACTIVE_RUN_STATES = ("queued", "running")


@dataclass(frozen=True)
class AirflowDeployPolicy:
    """How long a deploy waits for Airflow: in-flight runs before the swap, the parse after it."""

    inflight_wait_s: float = 300.0
    parse_timeout_s: float = 120.0
    poll_s: float = 0.5
    # DAGs whose change must also pass a smoke run (triggered through the API, started within
    # ``smoke_start_s`` and succeeded within ``smoke_finish_s`` more) before the deploy counts
    smoke_dags: tuple[str, ...] = ()
    smoke_start_s: float = 600.0
    smoke_finish_s: float = 300.0


def endpoints_from_environ(
    environ: Mapping[str, str] | None = None,
) -> dict[Environment, AirflowEndpoint]:
    """Each environment's Airflow API from ``FINSIGHT_AIRFLOW_API_<ENV>`` (URL) and
    ``FINSIGHT_AIRFLOW_API_AUTH_<ENV>`` (``user:password``); environments without a URL have none."""
    environ = os.environ if environ is None else environ
    found = {}
    for env in Environment:
        url = environ.get(f"FINSIGHT_AIRFLOW_API_{str(env).upper()}", "").strip()
        if url:
            user, _, password = environ.get(
                f"FINSIGHT_AIRFLOW_API_AUTH_{str(env).upper()}", ""
            ).partition(":")
            found[env] = AirflowEndpoint(url, user, password)
    return found


def check_inside(artifact: Artifact) -> None:
    """Every file of ``artifact`` lands inside its folder: no absolute path, no ``..``."""
    for f in artifact.files:
        path = PurePosixPath(f.path)
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise TargetError(
                f"{artifact.name} {artifact.short_digest}: file path {f.path!r} escapes the target "
                "folder; refused before anything was written"
            )


def tree_digests(root: Path | None) -> dict[str, str]:
    """sha256 of every file under ``root`` by relative path (byte-compiled caches left out)."""
    if root is None or not root.is_dir():
        return {}
    found = {}
    for parent, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".pyc"):
                continue
            path = Path(parent) / name
            found[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@dataclass
class SwitchReport:
    """What one Airflow switch did, for the audit and the benchmark."""

    changed_files: list[str] = field(default_factory=list)
    dag_files: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    inflight_wait_s: float = 0.0
    parse_wait_s: float = 0.0
    switched_at: datetime | None = None
    smoke: list[StartResult] = field(default_factory=list)


class SelfManagedAirflowTarget(FolderTarget):
    """A :class:`FolderTarget` whose Airflow dags bundle switch is verified through the REST API."""

    def __init__(
        self,
        root: Path,
        kinds: frozenset[ArtifactKind],
        endpoints: Mapping[Environment, AirflowEndpoint] | None = None,
        policy: AirflowDeployPolicy = AirflowDeployPolicy(),
        name: str = "folder",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(root, kinds, name)
        self.endpoints = dict(endpoints or {})
        self.policy = policy
        self.clock = clock
        self.last_switch: SwitchReport | None = None
        # Set for one operation (``promote --canary``): these changed DAGs go live and pass a smoke run
        # before the rest of the bundle follows.
        self.canary_dags: tuple[str, ...] = ()
        self.canary_switch: SwitchReport | None = None
        self.log = get_logger("finsight_release.airflow")

    def api(self, env: Environment) -> AirflowApi | None:
        endpoint = self.endpoints.get(env)
        return AirflowApi(endpoint) if endpoint else None

    # -- prepare: refuse bad input before anything switches --------------------------------------

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Check paths, the dags folder's writability and the API, then stage (FolderTarget)."""
        for artifact in artifacts:
            check_inside(artifact)
        if any(a.name == DAGS for a in artifacts):
            self._check_writable(env)
            api = self.api(env)
            if api is not None:
                api.check_access()
        super().prepare(env, manifest, artifacts, repo)

    def _check_writable(self, env: Environment) -> None:
        """The folders the switch writes (versions, the live link's parent) accept new entries."""
        for folder in (self.root / str(env) / "versions", self.live_path(env, DAGS).parent):
            existing = folder
            while not existing.exists() and existing != existing.parent:
                existing = existing.parent
            if not os.access(existing, os.W_OK | os.X_OK):
                raise TargetError(
                    f"{self.name}: the dags folder of {env} is not writable ({existing}); "
                    "the live version is untouched"
                )

    # -- switch --------------------------------------------------------------------------------

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None:
        """Other artifacts as FolderTarget does; the DAG bundle paused, swapped, checked, unpaused."""
        api = self.api(env)
        dags = next((a for a in artifacts if a.name == DAGS), None)
        if api is None or dags is None:
            super().switch(env, manifest, artifacts, retired)
            return
        super().switch(env, manifest, [a for a in artifacts if a is not dags], retired)
        self.switch_dags(env, api, dags)

    def switch_back(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str],
        repo: ReleaseRepository,
    ) -> None:
        """The Deployer's restore after a failure: the previous bundle goes back whatever Airflow says.

        No API preflight and no in-flight wait (the changed DAGs are still paused); the parse and
        import-error checks run and their problems are logged as warnings, not raised: the files
        that were live and healthy before are back, and a restore that stopped on an unreachable
        Airflow would leave the environment claimed. The DAGs the deploy paused are unpaused when
        Airflow answers (else they stay recorded for the next switch).
        """
        FolderTarget.prepare(self, env, manifest, artifacts, repo)
        api = self.api(env)
        dags = next((a for a in artifacts if a.name == DAGS), None)
        if api is None or dags is None:
            FolderTarget.switch(self, env, manifest, artifacts, retired)
            return
        FolderTarget.switch(self, env, manifest, [a for a in artifacts if a is not dags], retired)
        try:
            self.switch_dags(env, api, dags, restoring=True)
        except (TargetError, AirflowApiError) as exc:
            if self.live_digest(env, DAGS) != dags.digest:
                self.link(env, dags)
            self.log.warning("restored without Airflow's confirmation", error=str(exc))
            self._unpause_recorded(env, api, best_effort=True)

    def switch_dags(
        self, env: Environment, api: AirflowApi, artifact: Artifact, restoring: bool = False
    ) -> SwitchReport:
        """Pause, wait for in-flight runs, touch, swap, wait for the parse, check, unpause.

        ``restoring`` (the Deployer's restore): no pause, no in-flight wait, no canary, no smoke.
        With :attr:`canary_dags`, the canary DAGs' new files go live first (the live bundle plus
        them, in a folder of its own) and must pass their smoke runs before the rest follows.
        """
        if self.live_digest(env, DAGS) == artifact.digest:
            # Already live: a repeated switch, or switching back to a version never left (the forward
            # switch stopped before its swap). Only the DAGs a deploy paused are left to unpause.
            self.last_switch = SwitchReport()
            self._unpause_recorded(env, api, best_effort=True)
            return self.last_switch
        if not self.version_dir(env, artifact).is_dir():
            raise TargetError(
                f"{self.name}: {artifact.name} {artifact.short_digest} is not staged in {env}"
            )
        live = self.live_path(env, DAGS)
        old_dir = live.resolve() if live.is_symlink() else None
        new_dir = self.version_dir(env, artifact)
        self.canary_switch = None
        if self.canary_dags and not restoring and old_dir is not None:
            mixed = self._canary_dir(env, api, artifact, old_dir, new_dir)
            self.canary_switch = self._swap(
                env, api, old_dir, mixed, lambda: self._link_dir(env, mixed), False,
                self.canary_dags,
            )  # fmt: skip
            old_dir = mixed
        smoke = () if restoring else self.policy.smoke_dags
        return self._swap(
            env, api, old_dir, new_dir, lambda: self.link(env, artifact), restoring, smoke
        )

    def _swap(
        self,
        env: Environment,
        api: AirflowApi,
        old_dir: Path | None,
        new_dir: Path,
        link: Callable[[], None],
        restoring: bool,
        smoke: Sequence[str],
    ) -> SwitchReport:
        """The protocol around one symlink swap from ``old_dir`` to ``new_dir``."""
        report = SwitchReport()
        self.last_switch = report
        old, new = tree_digests(old_dir), tree_digests(new_dir)
        report.changed_files = sorted(
            rel for rel in old.keys() | new.keys() if old.get(rel) != new.get(rel)
        )
        new_bundle = DagBundle(new_dir, new)
        old_bundle = DagBundle(old_dir, old) if old_dir else None
        report.dag_files = new_bundle.affected_dag_files(report.changed_files)
        old_files = old_bundle.affected_dag_files(report.changed_files) if old_bundle else []

        registered = self._by_file(env, api.dags(only_active=True))
        if not restoring:
            affected_ids = sorted(
                {
                    d["dag_id"]
                    for rel in {*old_files, *report.dag_files}
                    for d in registered.get(rel, [])
                }
            )
            self._pause(
                env, api, [d for d in affected_ids if not self._is_paused(registered, d)], report
            )
            self._wait_inflight(api, affected_ids, report)

        now = time.time()
        for rel in {*report.dag_files, *(r for r in report.changed_files if r in new)}:
            os.utime(new_dir / rel, (now, now))
        report.switched_at = self.clock()
        link()
        self._request_parse(
            api, [d for rel in report.dag_files for d in registered.get(rel, [])[:1]]
        )

        self._wait_parsed(env, api, report)
        self._check_import_errors(env, api)
        self._check_registration(env, api, new_dir, report)
        self._unpause_recorded(env, api)
        if smoke:
            self._smoke(env, api, report, smoke)
        self.log.info(
            "airflow switched",
            environment=str(env),
            changed_files=len(report.changed_files),
            dag_files=report.dag_files,
            paused=report.paused,
            parse_wait_s=round(report.parse_wait_s, 2),
        )
        return report

    # -- canary --------------------------------------------------------------------------------

    def _canary_dir(
        self, env: Environment, api: AirflowApi, artifact: Artifact, old_dir: Path, new_dir: Path
    ) -> Path:
        """The live bundle with the canary DAGs' files (and modules only they import) at the new
        version, materialized once next to the versions; refused when that cannot isolate them."""
        old, new = tree_digests(old_dir), tree_digests(new_dir)
        changed = {rel for rel in old.keys() | new.keys() if old.get(rel) != new.get(rel)}
        bundle = DagBundle(new_dir, new)
        registered = self._by_file(env, api.dags(only_active=True))
        file_of = {d["dag_id"]: rel for rel, dags in registered.items() for d in dags}
        overlay = canary_overlay(bundle, changed, file_of, self.canary_dags)
        key = hashlib.sha256("\n".join(sorted(self.canary_dags)).encode()).hexdigest()[:12]
        final = self.version_dir(env, artifact).with_name(f"canary-{artifact.digest[:12]}-{key}")
        if final.is_dir():
            return final
        tmp = final.with_name(f".staging-{final.name}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(old_dir, tmp, ignore=shutil.ignore_patterns("__pycache__"))
        for rel in overlay:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(new_dir / rel, tmp / rel)
        make_readable(tmp)
        os.rename(tmp, final)
        return final

    def _link_dir(self, env: Environment, version: Path) -> None:
        """Point the live dags folder at ``version`` in one rename (as :meth:`FolderTarget.link`)."""
        link = self.live_path(env, DAGS)
        tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        os.symlink(os.path.relpath(version, link.parent), tmp)
        os.replace(tmp, link)

    def _by_file(
        self, env: Environment, dags: list[dict[str, Any]]
    ) -> dict[str, list[dict[str, Any]]]:
        """Registered DAGs by their file's path relative to the live dags folder."""
        prefix = str(self.live_path(env, DAGS)) + "/"
        found: dict[str, list[dict[str, Any]]] = {}
        for dag in dags:
            fileloc = str(dag.get("fileloc") or "")
            if fileloc.startswith(prefix):
                found.setdefault(fileloc[len(prefix) :], []).append(dag)
        return found

    @staticmethod
    def _is_paused(registered: dict[str, list[dict[str, Any]]], dag_id: str) -> bool:
        return any(
            d["is_paused"] for dags in registered.values() for d in dags if d["dag_id"] == dag_id
        )

    # -- pause bookkeeping ---------------------------------------------------------------------

    def paused_file(self, env: Environment) -> Path:
        return self.root / str(env) / "airflow-paused.json"

    def recorded_paused(self, env: Environment) -> list[str]:
        """DAGs a deploy paused and has not unpaused yet."""
        path = self.paused_file(env)
        return sorted(json.loads(path.read_text())) if path.is_file() else []

    def _record_paused(self, env: Environment, dag_ids: list[str]) -> None:
        path = self.paused_file(env)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sorted(dag_ids)))
        os.replace(tmp, path)

    def _pause(
        self, env: Environment, api: AirflowApi, dag_ids: list[str], report: SwitchReport
    ) -> None:
        # Recorded before pausing: a crash in between leaves at most an unpause of an unpaused DAG.
        self._record_paused(env, sorted({*self.recorded_paused(env), *dag_ids}))
        for dag_id in dag_ids:
            api.set_paused(dag_id, True)
        report.paused = dag_ids

    def _unpause_recorded(
        self, env: Environment, api: AirflowApi, best_effort: bool = False
    ) -> None:
        remaining = self.recorded_paused(env)
        try:
            for dag_id in list(remaining):
                try:
                    api.set_paused(dag_id, False)
                except AirflowApiError as exc:
                    if "404" not in str(exc):  # a DAG the release removed is gone, not paused
                        raise
                remaining.remove(dag_id)
        except AirflowApiError as exc:
            self._record_paused(env, remaining)
            if not best_effort:
                raise TargetError(f"airflow.unpause: {exc}") from exc
            self.log.warning("unpause failed", environment=str(env), error=str(exc), dags=remaining)
            return
        self.paused_file(env).unlink(missing_ok=True)

    # -- waits and checks ----------------------------------------------------------------------

    def _wait_inflight(self, api: AirflowApi, dag_ids: list[str], report: SwitchReport) -> None:
        start = time.monotonic()
        while True:
            active = [
                f"{dag_id}/{run['dag_run_id']}"
                for dag_id in dag_ids
                for run in api.dag_runs(dag_id, ACTIVE_RUN_STATES)
            ]
            report.inflight_wait_s = time.monotonic() - start
            if not active:
                return
            if report.inflight_wait_s >= self.policy.inflight_wait_s:
                raise TargetError(
                    f"airflow.in_flight: {len(active)} DAG run(s) still running after "
                    f"{self.policy.inflight_wait_s:.0f} s ({', '.join(active[:5])}); the live version is "
                    "untouched"
                )
            time.sleep(self.policy.poll_s)

    def _request_parse(self, api: AirflowApi, dags: list[dict[str, Any]]) -> None:
        """Ask Airflow to parse these DAGs' files next (``PUT /parseDagFile``, Airflow >= 2.10).

        Without it a changed file waits for the processor's current queue to drain (up to a full
        pass over the bundle); ``modified_time`` ordering only applies when the queue is refilled.
        Best effort: the parse wait that follows is what decides.
        """
        for dag in dags:
            try:
                api.request_parse(str(dag["file_token"]))
            except AirflowApiError as exc:
                self.log.warning("parse request refused", dag_id=dag["dag_id"], error=str(exc))

    def _wait_parsed(self, env: Environment, api: AirflowApi, report: SwitchReport) -> None:
        """Until each affected DAG file has a DAG parsed, or an import error, after the swap."""
        assert report.switched_at is not None
        start, pending = time.monotonic(), set(report.dag_files)
        while pending:
            errors = self._errors_by_file(env, api)
            parsed = self._by_file(env, api.dags(only_active=True))
            for rel in list(pending):
                error_at = parse_time(errors[rel]["timestamp"]) if rel in errors else None
                dag_at = [parse_time(d.get("last_parsed_time")) for d in parsed.get(rel, [])]
                if (error_at and error_at >= report.switched_at) or any(
                    t and t >= report.switched_at for t in dag_at
                ):
                    pending.discard(rel)
            report.parse_wait_s = time.monotonic() - start
            if not pending:
                return
            if report.parse_wait_s >= self.policy.parse_timeout_s:
                raise TargetError(
                    f"airflow.parse: the DAG processor did not parse {', '.join(sorted(pending)[:5])} "
                    f"within {self.policy.parse_timeout_s:.0f} s of the switch"
                )
            time.sleep(self.policy.poll_s)

    def _errors_by_file(self, env: Environment, api: AirflowApi) -> dict[str, dict[str, Any]]:
        prefix = str(self.live_path(env, DAGS)) + "/"
        return {
            str(e["filename"])[len(prefix) :]: e
            for e in api.import_errors()
            if str(e.get("filename") or "").startswith(prefix)
        }

    def import_problems(self, env: Environment, api: AirflowApi) -> list[str]:
        """One line per import error Airflow reports for a file of the live bundle."""
        return [
            f"{rel}: {one_line(_last_line(e.get('stack_trace')), 200)}"
            for rel, e in sorted(self._errors_by_file(env, api).items())
        ]

    def _check_import_errors(self, env: Environment, api: AirflowApi) -> None:
        problems = self.import_problems(env, api)
        if problems:
            raise TargetError(f"airflow.import_errors: {'; '.join(problems[:5])}")

    def _check_registration(
        self, env: Environment, api: AirflowApi, new_dir: Path, report: SwitchReport
    ) -> None:
        """Each affected DAG comes from its file, parsed after the swap, with the release's source."""
        assert report.switched_at is not None
        registered = self._by_file(env, api.dags(only_active=True))
        problems = []
        for rel in report.dag_files:
            for dag in registered.get(rel, []):
                parsed_at = parse_time(dag.get("last_parsed_time"))
                if parsed_at is None or parsed_at < report.switched_at:
                    problems.append(f"{dag['dag_id']} last parsed {parsed_at}, before the switch")
                    continue
                source = api.dag_source(str(dag["file_token"]))
                if source != (new_dir / rel).read_text(errors="replace"):
                    problems.append(f"{dag['dag_id']} is registered with another source than {rel}")
        if problems:
            raise TargetError(f"airflow.registration: {'; '.join(problems[:5])}")

    def _smoke(
        self, env: Environment, api: AirflowApi, report: SwitchReport, smoke: Sequence[str]
    ) -> None:
        """A triggered run of each changed smoke DAG must start and succeed (``airflow.smoke``)."""
        assert report.switched_at is not None
        changed = {d["dag_id"] for rel in report.dag_files for d in self._by_file(
            env, api.dags(only_active=True)).get(rel, [])}  # fmt: skip
        dag_ids = [d for d in smoke if d in changed]
        if not dag_ids:
            return
        report.smoke = measure_starts(
            api,
            [StartCheck(d) for d in dag_ids],
            report.switched_at,
            self.policy.smoke_start_s,
            self.policy.smoke_finish_s,
            self.policy.poll_s,
        )
        failed = [r for r in report.smoke if not r.ok]
        if failed:
            raise TargetError(
                "airflow.smoke: "
                + "; ".join(f"{r.dag_id} run {r.run_id} {r.state}: {r.detail}" for r in failed)
            )

    # -- verify --------------------------------------------------------------------------------

    def verify(
        self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]
    ) -> list[str]:
        """FolderTarget's file checks, plus: no import error for the live bundle's files."""
        problems = super().verify(env, manifest, artifacts)
        api = self.api(env)
        if api is not None and any(a.name == DAGS for a in artifacts):
            problems += [f"airflow.import_errors: {p}" for p in self.import_problems(env, api)]
        return problems


def _last_line(text: object) -> str:
    """The last non-empty line of a stack trace: the exception."""
    lines = [line for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
