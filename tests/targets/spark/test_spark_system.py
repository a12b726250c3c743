"""A Spark change promoted through ``ReleaseSystem`` end to end: the Deployer prepares, switches and
verifies the Spark target among the others; a job that does not import on the runtime is refused
before any switch; a rollback re-points the job definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsight_release.envs.environment import Environment
from finsight_release.errors import PromotionFailedError
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from finsight_release.targets.spark.target import SparkJobTarget
from tests.targets.spark.spark_world import ARTIFACT, MAIN, PYPROJECT, copy_job, edit

DEV = Environment.DEV


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A platform tree with one reference Spark job, Spark deploys on."""
    monkeypatch.setenv("FINSIGHT_SPARK_DEPLOY", "on")
    copy_job(tmp_path / "platform")
    return tmp_path / "platform"


def system_of(platform: Path) -> ReleaseSystem:
    """The release system with its home beside ``platform``."""
    home = platform.parent / "home"
    return ReleaseSystem(load_settings(home=home, platform=platform, actor="tester"))


def test_a_spark_change_is_promoted_refused_and_rolled_back(platform: Path, tmp_path: Path) -> None:
    system = system_of(platform)
    (target,) = system.spark_targets
    assert isinstance(target, SparkJobTarget)
    assert [t.name for t in system.targets][-1] == system.folder_target.name
    assert "spark_job" not in system.folder_target.kinds  # the Spark target deploys them

    v1, _ = system.build(platform, DEV)
    system.promote(DEV, v1.release_id)
    live = target.live(DEV)
    assert live.release_id == v1.release_id
    v1_wheel = live.jobs[ARTIFACT].wheel_uri
    assert v1_wheel.startswith((tmp_path / "home" / "spark").as_uri())

    edit(platform / PYPROJECT, '"pyspark>=3.5,<4"', '"pyspark>=4.0"')
    needs_spark4, _ = system.build(platform, DEV)
    with pytest.raises(PromotionFailedError) as failed:
        system.promote(DEV, needs_spark4.release_id)
    assert "spark: not deployable" in str(failed.value)
    assert "requires 'pyspark>=4.0' but the runtime provides pyspark 3.5.9" in str(failed.value)
    assert system.board.read(DEV)[0].release_id == v1.release_id
    assert target.live(DEV).jobs[ARTIFACT].wheel_uri == v1_wheel

    edit(platform / PYPROJECT, '"pyspark>=4.0"', '"pyspark>=3.5,<4"')
    edit(platform / MAIN, "import argparse\n", "import argparse  # v3\n")
    v3, _ = system.build(platform, DEV)
    system.promote(DEV, v3.release_id)
    assert target.live(DEV).jobs[ARTIFACT].wheel_uri != v1_wheel

    system.rollback(DEV)
    live = target.live(DEV)
    assert (live.release_id, live.jobs[ARTIFACT].wheel_uri) == (v1.release_id, v1_wheel)
    assert system.board.read(DEV)[0].release_id == v1.release_id


def test_a_published_wheel_that_fails_its_smoke_run_is_switched_back(platform: Path) -> None:
    edit(  # imports fine (prepare passes), fails when main runs on the sample (verify)
        platform / MAIN,
        "def transform(payments: DataFrame) -> DataFrame:\n",
        "def transform(payments: DataFrame) -> DataFrame:\n"
        '    raise ValueError("no risk model for this sample")\n',
    )
    system = system_of(platform)
    broken, _ = system.build(platform, DEV)
    with pytest.raises(PromotionFailedError) as failed:
        system.promote(DEV, broken.release_id)
    assert (
        "spark: published artifact smoke run: spark/merchant_risk_scoring: smoke run failed"
        in str(failed.value)
    )
    assert "no risk model for this sample" in str(failed.value)
    assert system.spark_targets[0].live(DEV).jobs == {}  # switched back: nothing launches it
    assert system.board.read(DEV)[0].release_id is None


def test_aws_mode_publishes_under_the_store_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSIGHT_MODE", "aws")
    monkeypatch.setenv("FINSIGHT_STORE_URL", "s3://finsight-releases/state")
    monkeypatch.setenv("FINSIGHT_SPARK_DEPLOY", "on")
    system = ReleaseSystem(load_settings())
    assert system.spark_targets[0].location.url == "s3://finsight-releases/state/spark-artifacts"
    monkeypatch.setenv("FINSIGHT_SPARK_ARTIFACTS_URL", "s3://finsight-spark/jobs")
    assert load_settings().spark_artifacts_url == "s3://finsight-spark/jobs"
    monkeypatch.setenv("FINSIGHT_SPARK_DEPLOY", "off")
    assert ReleaseSystem(load_settings()).spark_targets == []
