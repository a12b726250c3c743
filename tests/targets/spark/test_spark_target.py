"""The Spark target for real: wheels built by setuptools, installed by uv on PySpark 3.5 (.venvs/spark),
imported and smoke-run in local mode; published to a local folder and to S3 on moto's server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import boto3
import pytest
from moto.core.authorization import enable_iam_authentication

from finsight_release.envs.environment import Environment
from finsight_release.errors import SparkDeployError
from finsight_release.store.base import ObjectStore
from finsight_release.store.local import LocalObjectStore
from finsight_release.store.s3 import S3ObjectStore
from finsight_release.targets.spark.location import ArtifactLocation
from finsight_release.targets.spark.wheels import WHEELS_PREFIX
from tests.targets.spark.spark_world import (
    ARTIFACT,
    MAIN,
    PYPROJECT,
    SparkWorld,
    edit,
    s3_store,
)

DEV = Environment.DEV


@pytest.fixture(params=["local", "s3"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "spark-location")
        return
    endpoint = request.getfixturevalue("moto_server")
    yield s3_store(endpoint, f"spark-{tmp_path.name.lower().replace('_', '-')[-40:]}")


def test_prepare_switch_verify_then_rollback_repoints(
    location: ObjectStore, tmp_path: Path
) -> None:
    world = SparkWorld.create(tmp_path, location)
    target = world.target
    v1 = world.build()
    edit(world.platform / MAIN, "import argparse\n", "import argparse  # v2\n")
    v2 = world.build()
    (job1,), (job2,) = world.jobs(v1), world.jobs(v2)
    assert job1.digest != job2.digest

    target.prepare(DEV, v1, [job1], world.repo)
    assert target.live(DEV).jobs == {}  # published, not yet launched
    target.switch(DEV, v1, [job1])
    assert target.verify(DEV, v1, [job1]) == []
    live = target.live(DEV)
    assert live.release_id == v1.release_id
    assert live.jobs[ARTIFACT].digest == job1.digest
    assert live.jobs[ARTIFACT].entry_point == "merchant_risk_scoring.main:main"
    v1_wheel = live.jobs[ARTIFACT].wheel_key
    assert location.exists(v1_wheel)
    assert live.jobs[ARTIFACT].wheel_uri.endswith(v1_wheel)

    target.prepare(DEV, v2, [job2], world.repo)
    target.switch(DEV, v2, [job2])
    live = target.live(DEV)
    assert (live.release_id, live.jobs[ARTIFACT].digest) == (v2.release_id, job2.digest)
    assert live.jobs[ARTIFACT].wheel_key != v1_wheel

    # Rollback: the previous release's definitions again; nothing rebuilt, nothing deleted.
    built = world.repo.store.list(f"{WHEELS_PREFIX}/")
    target.prepare(DEV, v1, [job1], world.repo)
    target.switch(DEV, v1, [job1])
    live = target.live(DEV)
    assert (live.release_id, live.jobs[ARTIFACT].wheel_key) == (v1.release_id, v1_wheel)
    assert world.repo.store.list(f"{WHEELS_PREFIX}/") == built
    assert location.exists(v1_wheel) and location.exists(target.live(DEV).jobs[ARTIFACT].wheel_key)
    assert len([k for k in location.list("dev/wheels/") if k.endswith(".whl")]) == 2


def test_a_wheel_that_does_not_import_on_the_runtime_stops_before_the_switch(
    tmp_path: Path,
) -> None:
    location = LocalObjectStore(tmp_path / "spark-location")
    world = SparkWorld.create(tmp_path, location)
    v1 = world.build()
    world.target.prepare(DEV, v1, world.jobs(v1), world.repo)
    world.target.switch(DEV, v1, world.jobs(v1))
    published = location.list("")

    edit(world.platform / PYPROJECT, '"pyspark>=3.5,<4"', '"pyspark>=4.0"')
    needs_spark4 = world.build()
    with pytest.raises(SparkDeployError) as refused:
        world.target.prepare(DEV, needs_spark4, world.jobs(needs_spark4), world.repo)
    message = str(refused.value)
    assert message.startswith("spark: ") and "\n" not in message
    assert "merchant_risk_scoring requires 'pyspark>=4.0'" in message
    assert "pyspark 3.5.9" in message

    edit(world.platform / PYPROJECT, '"pyspark>=4.0"', '"pyspark>=3.5,<4"')
    edit(world.platform / MAIN, "import argparse\n", "import argparse\n\nimport yaml\n")
    undeclared = world.build()
    with pytest.raises(
        SparkDeployError, match=r"^spark: .*does not import: .*No module named 'yaml'"
    ):
        world.target.prepare(DEV, undeclared, world.jobs(undeclared), world.repo)

    assert location.list("") == published  # nothing published for either
    live = world.target.live(DEV)
    assert (live.release_id, live.jobs[ARTIFACT].digest) == (
        v1.release_id,
        world.jobs(v1)[0].digest,
    )

    # A release without the job retires it: no longer launched, its wheel still published.
    world.target.switch(DEV, undeclared, [], retired=[ARTIFACT])
    assert world.target.live(DEV).jobs == {}
    assert location.exists(live.jobs[ARTIFACT].wheel_key)


def test_an_unreachable_forbidden_or_missing_s3_location_is_one_clear_line(
    tmp_path: Path, moto_server: str
) -> None:
    closed = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    forbidden = s3_store(
        moto_server, f"spark-denied-{tmp_path.name.lower().replace('_', '-')[-30:]}"
    )
    on_moto = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    cases = {
        "unreachable": S3ObjectStore("s3://nowhere/spark", client=closed),
        # moto's server checks IAM while enable_iam_authentication is on: these keys exist nowhere.
        "forbidden": forbidden,
        "missing bucket": S3ObjectStore(
            f"s3://no-such-bucket-{tmp_path.name.lower()[-20:]}/spark", client=on_moto
        ),
    }
    for case, store in cases.items():
        world = SparkWorld.create(tmp_path / case.replace(" ", "-"), store)
        v1 = world.build()
        with enable_iam_authentication() if case == "forbidden" else nullcontext():
            with pytest.raises(SparkDeployError) as failed:
                world.target.prepare(DEV, v1, world.jobs(v1), world.repo)
            with pytest.raises(SparkDeployError):
                world.target.switch(DEV, v1, world.jobs(v1))
        message = str(failed.value)
        assert message.startswith(f"spark: artifact location {store.url} failed while reading"), (
            case
        )
        assert "\n" not in message
        if case == "forbidden":
            assert "InvalidAccessKeyId" in message or "AccessDenied" in message
    assert forbidden.list("") == []  # nothing was written while forbidden


def test_the_job_definitions_switch_is_compare_and_swap(location: ObjectStore) -> None:
    live = ArtifactLocation(location)
    document, token = live.live(DEV)
    assert (document.jobs, token) == ({}, None)
    first = document.switched("r-1", [], [])
    live.replace_live(DEV, first, token)
    _, token = live.live(DEV)
    live.replace_live(DEV, first.switched("r-2", [], []), token)
    with pytest.raises(SparkDeployError, match="changed while this switch ran; nothing switched"):
        live.replace_live(DEV, first.switched("r-3", [], []), token)  # read before r-2's switch
    with pytest.raises(SparkDeployError, match="changed while this switch ran"):
        live.replace_live(DEV, first, None)  # a first switch, but one exists already
    assert live.live(DEV)[0].release_id == "r-2"
