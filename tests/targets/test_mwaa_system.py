"""MWAA wired into ReleaseSystem: in AWS mode an environment whose config says ``airflow.target:
mwaa`` gets its DAG bundle, requirements and plugins from the MWAA target, and the folder target no
longer takes them there. The artifact store and MWAA's bucket are on moto's server over HTTP; the MWAA
API (``invoke_rest_api``, ``update_environment``, ``get_environment``), which no local server
implements, goes through botocore's Stubber with responses shaped like the AWS API reference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from finsight_release.envs.environment import Environment
from finsight_release.errors import ConfigError, PromotionFailedError
from finsight_release.settings import Mode, load_settings
from finsight_release.system import ReleaseSystem
from finsight_release.targets.folder import RELEASE_MARKER
from finsight_release.targets.mwaa import SYNC_MANIFEST
from finsight_release.targets.mwaa_environments import mwaa_placements
from tests.mini_platform import make_platform

REPO = Path(__file__).resolve().parents[2]
DEV, STAGING = Environment.DEV, Environment.STAGING
DAGS_DIR = "release_assets/airflow/dags"
MWAA_ENV = "finsight-staging"
DAGS_QUERY = {"limit": "100", "offset": "0", "only_active": "true"}
RUNS_QUERY = {"limit": "100", "order_by": "-execution_date"}


def staging_config(bucket: str) -> str:
    """The reference platform's staging config (MWAA), its DAGs in the test's bucket."""
    text = (REPO / "release_assets/config/staging.yaml").read_text()
    return text.replace("s3://finsight-staging-airflow/dags/", f"s3://{bucket}/dags/")


@dataclass
class World:
    system: ReleaseSystem
    stub: Stubber
    s3: Any
    bucket: str
    v1: str
    v2: str

    def to_dev(self, release: str) -> None:
        """Promote ``release`` to dev (the folder target) and record its checks passed there."""
        self.system.promote(DEV, release)
        self.system.deployer.mark_health(DEV, release, True, "post-deploy checks passed")

    def staging_on_v1(self) -> None:
        """v1 through dev to staging: its first MWAA deploy (requirements and plugins included)."""
        self.to_dev(self.v1)
        self.expect_update(plugins=True)
        self.expect_import_errors()
        self.system.promote(STAGING, self.v1)

    def marker(self) -> dict[str, Any]:
        """The release marker MWAA's Airflow reads inside its dags folder."""
        body = self.s3.get_object(Bucket=self.bucket, Key=f"dags/{RELEASE_MARKER}")["Body"].read()
        return dict(json.loads(body))

    def dags_keys(self) -> set[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="dags/").get("Contents", [])
        return {o["Key"].removeprefix("dags/") for o in listed}

    def expect_import_errors(self, errors: list[dict[str, Any]] | None = None) -> None:
        self.stub.add_response(
            "invoke_rest_api",
            {
                "RestApiStatusCode": 200,
                "RestApiResponse": {
                    "import_errors": errors or [],
                    "total_entries": len(errors or []),
                },
            },
            {"Name": MWAA_ENV, "Path": "/importErrors", "Method": "GET"},
        )

    def expect_rest(
        self,
        method: str,
        path: Any,
        query: dict[str, str] | None,
        answer: dict[str, Any],
        body: Any = None,
    ) -> None:
        """One ``InvokeRestApi`` call answering ``answer`` (query values as strings, as the API's
        query string carries them)."""
        expected: dict[str, Any] = {"Name": MWAA_ENV, "Path": path, "Method": method}
        if query:
            expected["QueryParameters"] = query
        if body is not None:
            expected["Body"] = body
        self.stub.add_response(
            "invoke_rest_api", {"RestApiStatusCode": 200, "RestApiResponse": answer}, expected
        )

    def expect_critical(self, *dag_ids: str) -> None:
        """``GET /dags``: ``dag_ids`` active and tagged critical."""
        dags = [{"dag_id": d, "tags": [{"name": "critical"}], "is_active": True} for d in dag_ids]
        self.expect_rest("GET", "/dags", DAGS_QUERY, {"dags": dags, "total_entries": len(dags)})

    def expect_update(self, plugins: bool = False) -> None:
        """``UpdateEnvironment`` to the new requirements (and plugins) object versions, then one
        ``GetEnvironment`` that finds it AVAILABLE."""
        expected = {
            "Name": MWAA_ENV,
            "RequirementsS3Path": "requirements.txt",
            "RequirementsS3ObjectVersion": ANY,
        }
        if plugins:
            expected |= {"PluginsS3Path": "plugins.zip", "PluginsS3ObjectVersion": ANY}
        arn = f"arn:aws:airflow:us-east-1:111122223333:environment/{MWAA_ENV}"
        self.stub.add_response("update_environment", {"Arn": arn}, expected)
        available = {"Name": MWAA_ENV, "Status": "AVAILABLE", "LastUpdate": {"Status": "SUCCESS"}}
        self.stub.add_response("get_environment", {"Environment": available}, {"Name": MWAA_ENV})


def open_world(tmp_path: Path) -> Iterator[World]:
    """Buckets on moto (boto3 pointed at it by the ``moto_server`` fixture), two releases, an AWS-mode
    system whose MWAA client is stubbed; every stubbed response must be used."""
    suffix = tmp_path.name.lower().replace("_", "-")[:30]
    bucket, state = f"mwaa-{suffix}", f"state-{suffix}"
    s3 = boto3.client("s3")
    for name in (bucket, state):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    config = {"release_assets/config/staging.yaml": staging_config(bucket)}
    p1 = make_platform(tmp_path / "p1", config, without="dbt")
    p2 = make_platform(
        tmp_path / "p2",
        {
            **config,
            f"{DAGS_DIR}/ingest_core.py": "# dag one, v2\nDAG_ID = 'ingest_core'\n",
            "release_assets/airflow/requirements.txt": "apache-airflow-providers-snowflake==6.7.0\n",
            "release_assets/spark/ledger_compaction/job.yaml": "name: ledger_compaction\n# v2\n",
        },
        without="dbt",
    )
    settings = load_settings(
        home=tmp_path / "home",
        mode=Mode.AWS,
        platform=p1,
        store_url=f"s3://{state}/finsight",
        actor="tester",
        require_validation=(),
    )
    system = ReleaseSystem(settings)
    v1 = system.build(p1)[0].release_id
    v2 = system.build(p2)[0].release_id
    mwaa = system.mwaa_target
    assert mwaa is not None
    mwaa.poll_s = 0.01
    stub = Stubber(mwaa.mwaa)
    with stub:
        yield World(system, stub, s3, bucket, v1, v2)
    stub.assert_no_pending_responses()


@pytest.fixture
def world(moto_server: str, tmp_path: Path) -> Iterator[World]:
    yield from open_world(tmp_path)


def test_mwaa_takes_the_airflow_artifacts_of_its_environment_and_rolls_them_back(
    world: World,
) -> None:
    system, folder = world.system, world.system.folder_target
    world.to_dev(world.v1)
    assert folder.live_path(DEV, "airflow/dags").is_dir()  # dev is local: the folder target
    assert world.dags_keys() == set()

    world.expect_update(plugins=True)  # the first release brings requirements and plugins
    world.expect_import_errors()
    record = system.promote(STAGING, world.v1)
    assert "mwaa" in record.switched
    v1_dags = system.repo.get(world.v1).artifact("airflow/dags")
    assert v1_dags is not None
    assert world.dags_keys() == {f.path for f in v1_dags.files} | {SYNC_MANIFEST, RELEASE_MARKER}
    assert world.marker()["release_id"] == world.v1  # what the plugin writes into task logs
    assert world.marker()["operation_id"] == record.id
    assert not folder.live_path(STAGING, "airflow/dags").exists()  # not also in the folder
    assert folder.live_path(STAGING, "spark/ledger_compaction").is_dir()  # the rest still is

    world.to_dev(world.v2)
    world.expect_update()  # the slow path: requirements through update_environment
    world.expect_import_errors()
    system.promote(STAGING, world.v2)
    state = system.mwaa_target.sync_state(STAGING)  # type: ignore[union-attr]
    assert state["digest"] == system.repo.get(world.v2).artifact("airflow/dags").digest  # type: ignore[union-attr]
    first_requirements = system.mwaa_target.last_update  # type: ignore[union-attr]

    world.expect_update()
    world.expect_import_errors()
    system.rollback(STAGING)
    assert system.board.read(STAGING)[0].release_id == world.v1
    assert system.mwaa_target.sync_state(STAGING)["digest"] == v1_dags.digest  # type: ignore[union-attr]
    restored = system.mwaa_target.last_update  # type: ignore[union-attr]
    assert restored is not None and first_requirements is not None
    assert (
        restored["RequirementsS3ObjectVersion"] != first_requirements["RequirementsS3ObjectVersion"]
    )
    body = world.s3.get_object(Bucket=world.bucket, Key="requirements.txt")["Body"].read()
    assert body == b"apache-airflow-providers-snowflake==6.6.1\n"
    assert not folder.live_path(STAGING, "airflow/dags").exists()
    assert world.marker()["release_id"] == world.v1 and world.marker()["environment"] == "staging"


def test_an_import_error_on_mwaa_fails_the_promotion_and_restores_the_previous_bundle(
    world: World,
) -> None:
    system = world.system
    world.staging_on_v1()
    world.to_dev(world.v2)
    world.expect_update()
    world.expect_import_errors(
        [
            {
                "import_error_id": 1,
                "filename": "/usr/local/airflow/dags/ingest_core.py",
                "stack_trace": "Traceback ...\nValueError: broken on purpose\n",
                "timestamp": "2026-12-02T10:00:00+00:00",
            }
        ]
    )
    world.expect_update()  # the restore puts the previous requirements back
    with pytest.raises(PromotionFailedError, match="broken on purpose"):
        system.promote(STAGING, world.v2)
    assert system.board.read(STAGING)[0].release_id == world.v1
    v1_dags = system.repo.get(world.v1).artifact("airflow/dags")
    assert system.mwaa_target.sync_state(STAGING) == {  # type: ignore[union-attr]
        "state": "clean",
        "digest": v1_dags.digest if v1_dags else None,
        "intent": None,
    }


def test_a_mwaa_config_without_its_environment_is_one_line(tmp_path: Path) -> None:
    config = staging_config("b").replace("  mwaa_environment: finsight-staging\n", "")
    platform = make_platform(tmp_path, {"release_assets/config/staging.yaml": config})
    with pytest.raises(ConfigError, match=r"staging.yaml: airflow.mwaa_environment: required"):
        mwaa_placements(platform)
    assert mwaa_placements(make_platform(tmp_path / "local")) == {}  # no config says mwaa


def test_local_mode_never_routes_to_mwaa(tmp_path: Path) -> None:
    platform = make_platform(
        tmp_path / "p", {"release_assets/config/staging.yaml": staging_config("b")}
    )
    system = ReleaseSystem(load_settings(home=tmp_path / "home", platform=platform))
    assert system.mwaa_target is None
    assert "mwaa" not in [t.name for t in system.targets]
    assert system.folder_target in system.targets  # unwrapped: it takes every Airflow artifact


def test_health_of_a_mwaa_environment_is_read_through_invoke_rest_api(world: World) -> None:
    """Import errors and the critical DAGs' last runs of staging's MWAA: a failed last run makes
    the reading unhealthy, audited, and the release unhealthy in staging."""
    system = world.system
    world.staging_on_v1()
    world.expect_import_errors()
    world.expect_critical("ingest_core")
    world.expect_rest(
        "GET",
        "/dags/ingest_core/dagRuns",
        RUNS_QUERY,
        {"dag_runs": [{"dag_id": "ingest_core", "state": "failed"}], "total_entries": 1},
    )
    health = system.airflow_health(STAGING)
    assert health.configured and health.last_runs == {"ingest_core": "failed"}
    assert not health.healthy and health.reason() == "last run failed: ingest_core"
    (event,) = system.audit.events(action="airflow_health")
    assert event["environment"] == "staging" and event["outcome"] == "unhealthy"
    marked = system.audit.events(release_id=world.v1, environment="staging", action="health")
    assert marked and marked[0]["outcome"] == "unhealthy"


def test_mwaa_refusing_the_credentials_fails_the_promotion_in_one_line_and_restores(
    world: World,
) -> None:
    """``invoke_rest_api`` answering AccessDenied (the deployer's role may not call Airflow): the
    promotion fails naming it, and staging's bucket and requirements are back on v1."""
    system = world.system
    world.staging_on_v1()
    world.to_dev(world.v2)
    world.expect_update()
    world.stub.add_client_error(
        "invoke_rest_api",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: airflow:InvokeRestApi",
        http_status_code=403,
    )
    world.expect_update()  # the restore puts v1's requirements back
    with pytest.raises(PromotionFailedError) as failed:
        system.promote(STAGING, world.v2)
    message = str(failed.value)
    assert "AccessDeniedException" in message and "\n" not in message
    assert system.board.read(STAGING)[0].release_id == world.v1
    v1_dags = system.repo.get(world.v1).artifact("airflow/dags")
    assert v1_dags is not None
    assert system.mwaa_target.sync_state(STAGING)["digest"] == v1_dags.digest  # type: ignore[union-attr]
    body = world.s3.get_object(Bucket=world.bucket, Key="requirements.txt")["Body"].read()
    assert body == b"apache-airflow-providers-snowflake==6.6.1\n"


def test_start_sla_of_a_mwaa_environment_is_a_smoke_run_through_invoke_rest_api(
    world: World,
) -> None:
    """``airflow_health(measure_start=True)`` on MWAA: each critical DAG's smoke run is triggered
    and watched through ``invoke_rest_api`` (the same code as on self-managed Airflow)."""
    system = world.system
    world.staging_on_v1()
    world.expect_import_errors()
    world.expect_critical("ingest_core")
    world.expect_rest("GET", "/dags/ingest_core/dagRuns", RUNS_QUERY, {"dag_runs": []})
    world.expect_rest(
        "GET", "/dags/ingest_core", None, {"dag_id": "ingest_core", "is_paused": False}
    )
    body = {"dag_run_id": ANY, "conf": {"finsight_smoke": True}}
    world.expect_rest("POST", "/dags/ingest_core/dagRuns", None, {"state": "queued"}, body)
    started = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    run = {"dag_run_id": "smoke-1", "state": "running", "start_date": started}
    world.expect_rest("GET", "/dags/ingest_core/dagRuns", RUNS_QUERY, {"dag_runs": [run]})
    world.expect_rest("GET", ANY, None, {**run, "state": "success"})  # the triggered run, by id
    health = system.airflow_health(STAGING, measure_start=True)
    (start,) = health.starts
    assert start.ok and start.state == "success" and start.started_s is not None
    assert 25 < start.started_s <= 30 and health.healthy
    (event,) = system.audit.events(action="airflow_health")
    assert event["details"]["starts"][0]["dag_id"] == "ingest_core"


CANARY_DAG = "# airflow dag, v3\nfrom airflow import DAG\nDAG_ID = 'ingest_core'\n"


def canary_release(world: World, tmp_path: Path) -> str:
    """v3: ingest_core.py changed into a DAG file Airflow parses (nothing else), healthy in dev."""
    overrides = {
        "release_assets/config/staging.yaml": staging_config(world.bucket),
        f"{DAGS_DIR}/ingest_core.py": CANARY_DAG,
    }
    v3 = world.system.build(make_platform(tmp_path / "p3", overrides, without="dbt"))[0].release_id
    world.to_dev(v3)
    return v3


def expect_dags_listed(world: World) -> None:
    """``GET /dags``: the bundle's two DAGs, each at its file under MWAA's dags folder."""
    dags = [
        {"dag_id": d, "fileloc": f"/usr/local/airflow/dags/{d}.py", "is_paused": False}
        for d in ("export_partners", "ingest_core")
    ]
    world.expect_rest("GET", "/dags", DAGS_QUERY, {"dags": dags, "total_entries": 2})


def expect_canary_smoke(world: World, final_state: str) -> None:
    """MWAA's Airflow lists both DAGs, then ingest_core's smoke run starts and ends ``final_state``."""
    expect_dags_listed(world)
    world.expect_import_errors()  # after the canary sync
    world.expect_rest(
        "GET", "/dags/ingest_core", None, {"dag_id": "ingest_core", "is_paused": False}
    )
    body = {"dag_run_id": ANY, "conf": {"finsight_smoke": True}}
    world.expect_rest("POST", "/dags/ingest_core/dagRuns", None, {"state": "queued"}, body)
    started = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    run = {"dag_run_id": "smoke-1", "state": "running", "start_date": started}
    world.expect_rest("GET", "/dags/ingest_core/dagRuns", RUNS_QUERY, {"dag_runs": [run]})
    world.expect_rest("GET", ANY, None, {**run, "state": final_state})


def test_a_mwaa_canary_goes_live_and_passes_its_smoke_run_before_the_rest(
    world: World, tmp_path: Path
) -> None:
    world.staging_on_v1()
    v3 = canary_release(world, tmp_path)
    expect_canary_smoke(world, "success")
    world.expect_import_errors()  # the whole bundle's verification
    world.system.promote(STAGING, v3, canary=("ingest_core",))
    mwaa = world.system.mwaa_target
    assert mwaa is not None and mwaa.canary_sync is not None
    assert mwaa.canary_sync.copied == ["ingest_core.py"] and mwaa.canary_sync.deleted == []
    v3_dags = world.system.repo.get(v3).artifact("airflow/dags")
    assert v3_dags is not None and mwaa.sync_state(STAGING)["digest"] == v3_dags.digest
    assert mwaa.canary_dags == ()  # for one operation only


def test_a_failing_mwaa_canary_stops_the_rollout_and_restores_the_previous_bundle(
    world: World, tmp_path: Path
) -> None:
    world.staging_on_v1()
    v3 = canary_release(world, tmp_path)
    expect_canary_smoke(world, "failed")
    world.expect_rest("GET", ANY, None, {"task_instances": [], "total_entries": 0})
    with pytest.raises(PromotionFailedError, match="airflow.smoke: canary ingest_core run"):
        world.system.promote(STAGING, v3, canary=("ingest_core",))
    v1_dags = world.system.repo.get(world.v1).artifact("airflow/dags")
    assert v1_dags is not None
    assert world.system.mwaa_target.sync_state(STAGING)["digest"] == v1_dags.digest  # type: ignore[union-attr]
    body = world.s3.get_object(Bucket=world.bucket, Key="dags/ingest_core.py")["Body"].read()
    assert body == b"# dag one\nDAG_ID = 'ingest_core'\n"


def test_a_mwaa_canary_the_release_does_not_change_is_refused(world: World, tmp_path: Path) -> None:
    world.staging_on_v1()
    v3 = canary_release(world, tmp_path)
    expect_dags_listed(world)
    with pytest.raises(PromotionFailedError, match="airflow.canary: this release does not change"):
        world.system.promote(STAGING, v3, canary=("export_partners",))
    v1_dags = world.system.repo.get(world.v1).artifact("airflow/dags")
    assert v1_dags is not None
    assert world.system.mwaa_target.sync_state(STAGING)["digest"] == v1_dags.digest  # type: ignore[union-attr]
