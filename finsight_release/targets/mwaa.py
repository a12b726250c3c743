"""Amazon MWAA: the DAG bundle synced to the environment's versioned S3 ``dags/`` prefix, requirements
and plugins through ``update_environment``, health through ``invoke_rest_api``.

Two phases, as every target:

* ``prepare`` uploads each file once to a content-addressed staging prefix of the same bucket
  (``finsight/blobs/<sha256>``, outside ``dags/``: MWAA never sees it) and, for plugins, a
  deterministic ``plugins.zip``. It refuses a bucket without versioning (a rollback of requirements and
  plugins names an object version) and any bundle path escaping the prefix.
* ``switch`` of the DAG bundle is a sync: an *intent* (``dags/.finsight-sync-intent.json``: from and to
  digests) is written first, then every file whose content differs is copied server-side from its
  staging blob, files the release no longer has are deleted (the bucket keeps their versions), and
  the *sync manifest* (``dags/.finsight-sync.json``: release, digest, file digests) is written last,
  then the intent removed. A sync that died midway leaves the intent: :meth:`MwaaTarget.sync_state`
  reports it as partial, and the next sync compares every object (not the manifest's list) and
  completes it (to the intent's version) or reverts it (to the previous one, the Deployer's restore).
* A requirements or plugins change is MWAA's slow path: the object is copied to its key,
  ``update_environment`` names the new S3 object version, and the environment is polled
  (``get_environment``) until ``AVAILABLE`` (``UPDATE_FAILED`` or a failed ``LastUpdate`` stops the
  deploy). MWAA takes about 20 minutes for this, and switching back is the same update again: it
  cannot be rolled back within 5 minutes, which the change set announces (``slow_path``).
* ``verify``: the sync manifest names the release's digest, no intent is left, and
  ``invoke_rest_api`` ``GET /importErrors`` (the Airflow REST API through IAM) reports none for the
  bundle's files.

No local server implements the MWAA API: its tests use botocore's Stubber with responses shaped like
the AWS API reference; the S3 side runs on moto's server.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from finsight_release.envs.environment import Environment
from finsight_release.errors import TargetError
from finsight_release.observe.logging import get_logger
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.folder import RELEASE_MARKER, release_marker
from finsight_release.targets.mwaa_api import MwaaAirflowApi
from finsight_release.targets.mwaa_canary import canary_bundle, smoke_canaries
from finsight_release.targets.self_managed import check_inside

DAGS = "airflow/dags"
REQUIREMENTS = "airflow/requirements"
PLUGINS = "airflow/plugins"
SYNC_MANIFEST = ".finsight-sync.json"
SYNC_INTENT = ".finsight-sync-intent.json"
STAGING = "finsight/blobs/"
MWAA_DAGS_ROOT = "/usr/local/airflow/dags/"  # where MWAA's Airflow reads the synced prefix


@dataclass(frozen=True)
class MwaaEnvironment:
    """One MWAA environment and its source bucket."""

    name: str
    bucket: str
    dags_prefix: str = "dags/"
    requirements_key: str = "requirements.txt"
    plugins_key: str = "plugins.zip"


@dataclass
class SyncReport:
    """What one sync did."""

    copied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    recovered: dict[str, Any] | None = None  # the intent of a partial sync found and finished


def plugins_zip(files: Mapping[str, bytes]) -> bytes:
    """A deterministic zip (sorted names, fixed timestamps): the same plugins, the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


class MwaaTarget:
    """Deploys the Airflow artifacts of an environment to MWAA (see the module docstring)."""

    name = "mwaa"
    kinds = frozenset(
        {ArtifactKind.AIRFLOW_DAGS, ArtifactKind.AIRFLOW_REQUIREMENTS, ArtifactKind.AIRFLOW_PLUGINS}
    )

    def __init__(
        self,
        environments: Mapping[Environment, MwaaEnvironment],
        s3: Any,
        mwaa: Any,
        update_timeout_s: float = 3600.0,
        poll_s: float = 30.0,
    ) -> None:
        self.environments = dict(environments)
        self.s3 = s3
        self.mwaa = mwaa
        self.update_timeout_s = update_timeout_s
        self.poll_s = poll_s
        self.last_sync: SyncReport | None = None
        self.last_update: dict[str, Any] | None = None
        # Set for one operation (``promote --canary``): these changed DAGs are synced and smoke-run
        # before the rest of the bundle follows (``targets/mwaa_canary.py``).
        self.canary_dags: tuple[str, ...] = ()
        self.canary_sync: SyncReport | None = None
        self._repo: ReleaseRepository | None = None
        self.log = get_logger("finsight_release.mwaa")

    def _env(self, env: Environment) -> MwaaEnvironment:
        try:
            return self.environments[env]
        except KeyError:
            raise TargetError(f"mwaa: no MWAA environment configured for {env}") from None

    # -- prepare -------------------------------------------------------------------------------

    def prepare(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        repo: ReleaseRepository,
    ) -> None:
        """Refuse an unversioned bucket or escaping paths; upload every file once to staging."""
        target = self._env(env)
        self._repo = repo  # a canary reads the new bundle's imports from it
        versioning = self.s3.get_bucket_versioning(Bucket=target.bucket).get("Status")
        if versioning != "Enabled":
            raise TargetError(
                f"mwaa: bucket {target.bucket} of {env} is not versioned (status {versioning}); "
                "MWAA requirements and plugins name object versions, and a rollback needs them"
            )
        for artifact in artifacts:
            check_inside(artifact)
            if artifact.name == PLUGINS:
                files = {f.path: repo.read_blob(f.digest, f.path) for f in artifact.files}
                self._stage(target, plugins_zip(files), key=self._plugins_blob(artifact))
                continue
            for f in artifact.files:
                if not self._exists(target.bucket, STAGING + f.digest):
                    self._stage(target, repo.read_blob(f.digest, f.path), key=STAGING + f.digest)

    @staticmethod
    def _plugins_blob(artifact: Artifact) -> str:
        return f"finsight/plugins/{artifact.digest}.zip"

    def _stage(self, target: MwaaEnvironment, data: bytes, key: str) -> None:
        digest = hashlib.sha256(data).digest()
        self.s3.put_object(
            Bucket=target.bucket,
            Key=key,
            Body=data,
            ChecksumSHA256=base64.b64encode(digest).decode(),  # S3 verifies what it stores
            Metadata={"sha256": digest.hex()},
        )

    def _exists(self, bucket: str, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    # -- switch --------------------------------------------------------------------------------

    def switch(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str] = (),
    ) -> None:
        """Sync the DAG bundle; requirements and plugins through ``update_environment``."""
        target = self._env(env)
        for artifact in artifacts:
            if artifact.name == DAGS:
                if self.canary_dags:
                    self._canary(env, manifest.release_id, artifact)
                self.sync(env, manifest.release_id, artifact)
        slow = {a.name: a for a in artifacts if a.name in {REQUIREMENTS, PLUGINS}}
        if slow:
            self._update_environment(target, slow)

    def switch_back(
        self,
        env: Environment,
        manifest: ReleaseManifest,
        artifacts: Sequence[Artifact],
        retired: Sequence[str],
        repo: ReleaseRepository,
    ) -> None:
        """The Deployer's restore: the previous version synced back as a whole, never as a canary."""
        canary, self.canary_dags = self.canary_dags, ()
        try:
            self.prepare(env, manifest, artifacts, repo)
            self.switch(env, manifest, artifacts, retired)
        finally:
            self.canary_dags = canary

    def _canary(self, env: Environment, release_id: str, artifact: Artifact) -> None:
        """Sync the live bundle plus the canary DAGs' new files, check import errors, smoke-run each
        canary; a TargetError line stops the rollout (the Deployer's restore syncs the rest back)."""
        target = self._env(env)
        live = self.read_json(target.bucket, target.dags_prefix + SYNC_MANIFEST)
        if not live or self._repo is None:
            raise TargetError(
                f"airflow.canary: {env} has no synced bundle to run a canary against; "
                "promote without --canary"
            )
        api = self.api(env)
        file_of = {
            str(d["dag_id"]): str(d.get("fileloc", "")).removeprefix(MWAA_DAGS_ROOT)
            for d in api.dags(only_active=True)
        }
        canary = canary_bundle(live["files"], artifact, self._repo, file_of, self.canary_dags)
        self.canary_sync = self.sync(env, release_id, canary)
        problems = self.import_errors(env)
        if problems:
            raise TargetError(f"airflow.import_errors: {problems[0]}")
        smoke_canaries(api, self.canary_dags)

    def read_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return dict(json.loads(body))

    def sync_state(self, env: Environment) -> dict[str, Any]:
        """``{"state": "clean"|"partial"|"empty", "digest": ..., "intent": ...}`` of ``dags/``."""
        target = self._env(env)
        current = self.read_json(target.bucket, target.dags_prefix + SYNC_MANIFEST)
        intent = self.read_json(target.bucket, target.dags_prefix + SYNC_INTENT)
        state = "partial" if intent else ("clean" if current else "empty")
        return {"state": state, "digest": (current or {}).get("digest"), "intent": intent}

    def _listing(self, target: MwaaEnvironment) -> dict[str, str]:
        """Every object under the dags prefix -> its sha256 metadata (our files carry it)."""
        found: dict[str, str] = {}
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=target.bucket, Prefix=target.dags_prefix):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(target.dags_prefix) :]
                if rel in {SYNC_MANIFEST, SYNC_INTENT, RELEASE_MARKER}:
                    continue
                head = self.s3.head_object(Bucket=target.bucket, Key=obj["Key"])
                found[rel] = head.get("Metadata", {}).get("sha256", "")
        return found

    def sync(self, env: Environment, release_id: str, artifact: Artifact) -> SyncReport:
        """Make ``dags/`` hold exactly ``artifact``'s files: intent, copies, deletes, manifest last."""
        target = self._env(env)
        report = SyncReport()
        self.last_sync = report
        state = self.sync_state(env)
        if state["state"] == "clean" and state["digest"] == artifact.digest:
            return report
        if state["state"] == "partial":
            report.recovered = state["intent"]
            self.log.warning("partial sync found", environment=str(env), intent=state["intent"])
        # Compare with the objects themselves: after a partial sync the manifest's list is not the truth.
        present = self._listing(target)
        intent = {
            "to_release": release_id,
            "to_digest": artifact.digest,
            "from_digest": state["digest"],
            "at": datetime.now(UTC).isoformat(),
        }
        self._put_json(target, SYNC_INTENT, intent)
        wanted = {f.path: f.digest for f in artifact.files}
        for rel, digest in sorted(wanted.items()):
            if present.get(rel) != digest:
                self.s3.copy_object(
                    Bucket=target.bucket,
                    Key=target.dags_prefix + rel,
                    CopySource={"Bucket": target.bucket, "Key": STAGING + digest},
                    MetadataDirective="COPY",
                )
                report.copied.append(rel)
        for rel in sorted(set(present) - set(wanted)):
            self.s3.delete_object(Bucket=target.bucket, Key=target.dags_prefix + rel)
            report.deleted.append(rel)
        self._put_json(
            target,
            SYNC_MANIFEST,
            {"release_id": release_id, "digest": artifact.digest, "files": wanted},
        )
        self.s3.delete_object(Bucket=target.bucket, Key=target.dags_prefix + SYNC_INTENT)
        return report

    def mark_release(
        self, env: Environment, manifest: ReleaseManifest, ids: dict[str, str]
    ) -> None:
        """Write ``dags/finsight_release.json`` (release, digests, correlation ``ids``), which the
        Airflow plugin ``finsight_release_marker`` reads inside the dags folder and writes into every
        task log; environments this target does not serve are left alone."""
        if env in self.environments:
            self._put_json(
                self.environments[env], RELEASE_MARKER, release_marker(env, manifest, ids)
            )

    def _put_json(self, target: MwaaEnvironment, name: str, body: dict[str, Any]) -> None:
        self.s3.put_object(
            Bucket=target.bucket,
            Key=target.dags_prefix + name,
            Body=json.dumps(body, sort_keys=True).encode(),
            ContentType="application/json",
        )

    def _update_environment(self, target: MwaaEnvironment, slow: Mapping[str, Artifact]) -> None:
        """Copy requirements/plugins to their keys, update the environment to those object versions,
        and wait for MWAA to finish (the ~20-minute slow path)."""
        params: dict[str, Any] = {"Name": target.name}
        if REQUIREMENTS in slow:
            [file] = slow[REQUIREMENTS].files
            copied = self.s3.copy_object(
                Bucket=target.bucket,
                Key=target.requirements_key,
                CopySource={"Bucket": target.bucket, "Key": STAGING + file.digest},
            )
            params["RequirementsS3Path"] = target.requirements_key
            params["RequirementsS3ObjectVersion"] = copied["VersionId"]
        if PLUGINS in slow:
            copied = self.s3.copy_object(
                Bucket=target.bucket,
                Key=target.plugins_key,
                CopySource={"Bucket": target.bucket, "Key": self._plugins_blob(slow[PLUGINS])},
            )
            params["PluginsS3Path"] = target.plugins_key
            params["PluginsS3ObjectVersion"] = copied["VersionId"]
        self.mwaa.update_environment(**params)
        self.last_update = params
        self.wait_updated(target)

    def wait_updated(self, target: MwaaEnvironment) -> dict[str, Any]:
        """Poll ``get_environment`` until AVAILABLE; a failed update is one TargetError line."""
        deadline = time.monotonic() + self.update_timeout_s
        while True:
            environment = self.mwaa.get_environment(Name=target.name)["Environment"]
            status = environment["Status"]
            last = environment.get("LastUpdate") or {}
            if status == "AVAILABLE" and last.get("Status") != "FAILED":
                return dict(environment)
            if status in {"UPDATE_FAILED", "UNAVAILABLE"} or last.get("Status") == "FAILED":
                error = last.get("Error") or {}
                raise TargetError(
                    f"mwaa.update: environment {target.name} is {status}: "
                    f"{error.get('ErrorCode', '')} {error.get('ErrorMessage', '')}".rstrip()
                )
            if time.monotonic() > deadline:
                raise TargetError(
                    f"mwaa.update: environment {target.name} still {status} after "
                    f"{self.update_timeout_s:.0f} s"
                )
            time.sleep(self.poll_s)

    # -- verify --------------------------------------------------------------------------------

    def import_errors(self, env: Environment) -> list[str]:
        """Import errors MWAA's Airflow reports (``invoke_rest_api GET /importErrors``), one line each
        as ``<file relative to dags/>: <exception>``."""
        target = self._env(env)
        answer = self.mwaa.invoke_rest_api(Name=target.name, Path="/importErrors", Method="GET")
        if not 200 <= int(answer["RestApiStatusCode"]) < 300:
            return [f"invoke_rest_api /importErrors answered {answer['RestApiStatusCode']}"]
        problems = []
        for error in answer["RestApiResponse"].get("import_errors", []):
            filename = str(error.get("filename", ""))
            lines = [ln for ln in str(error.get("stack_trace", "")).splitlines() if ln.strip()]
            problems.append(
                f"{filename.removeprefix(MWAA_DAGS_ROOT)}: {lines[-1] if lines else 'import error'}"
            )
        return problems

    def api(self, env: Environment) -> MwaaAirflowApi:
        """The Airflow REST API of ``env``'s MWAA environment, through ``invoke_rest_api``."""
        return MwaaAirflowApi(self.mwaa, self._env(env).name)

    def verify(
        self, env: Environment, manifest: ReleaseManifest, artifacts: Sequence[Artifact]
    ) -> list[str]:
        """The sync manifest names the release's bundle, no partial sync, no import error."""
        problems = []
        for artifact in artifacts:
            if artifact.name != DAGS:
                continue
            state = self.sync_state(env)
            if state["state"] == "partial":
                problems.append(f"dags/ has a partial sync to {state['intent'].get('to_digest')}")
            elif state["digest"] != artifact.digest:
                problems.append(
                    f"dags/ synced at {str(state['digest'])[:12]}, expected {artifact.short_digest}"
                )
            problems += [f"airflow.import_errors: {p}" for p in self.import_errors(env)]
        return problems
