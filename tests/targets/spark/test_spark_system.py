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


def test_a_spark_change_is_promoted_refused_and_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSIGHT_SPARK_DEPLOY", "on")
    platform = tmp_path / "platform"
    copy_job(platform)
    system = ReleaseSystem(load_settings(home=tmp_path / "home", platform=platform, actor="tester"))
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
