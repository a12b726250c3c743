"""A platform tree with one reference Spark job, its releases, and a Spark target on a local folder or
on S3 (moto's server on 127.0.0.1), for the Spark target tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import boto3

from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.store.base import ObjectStore
from finsight_release.store.local import LocalObjectStore
from finsight_release.store.s3 import S3ObjectStore
from finsight_release.targets.spark.location import ArtifactLocation
from finsight_release.targets.spark.target import SparkJobTarget

JOB = "merchant_risk_scoring"  # CSV sample, no dependency beyond pyspark: the cheapest smoke run
ARTIFACT = f"spark/{JOB}"
MAIN = f"release_assets/spark/{JOB}/src/{JOB}/main.py"
PYPROJECT = f"release_assets/spark/{JOB}/pyproject.toml"
SPARK_PYTHON = load_settings().spark_python


def copy_job(platform: Path, job: str = JOB) -> Path:
    """Copy a reference Spark job into ``platform``; returns its directory."""
    dest = platform / "release_assets" / "spark" / job
    shutil.copytree(
        REPO_ROOT / "release_assets" / "spark" / job,
        dest,
        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"),
    )
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def s3_store(endpoint: str, bucket: str, prefix: str = "spark-artifacts") -> S3ObjectStore:
    """A fresh bucket on moto and a store on ``s3://bucket/prefix``."""
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    return S3ObjectStore(f"s3://{bucket}/{prefix}", client=client)


@dataclass
class SparkWorld:
    """A release store, a platform tree and a Spark target publishing to ``location``."""

    platform: Path
    repo: ReleaseRepository
    target: SparkJobTarget

    @classmethod
    def create(cls, root: Path, location: ObjectStore) -> SparkWorld:
        platform = root / "platform"
        copy_job(platform)
        repo = ReleaseRepository(LocalObjectStore(root / "store"))
        return cls(platform, repo, SparkJobTarget(ArtifactLocation(location), repo, SPARK_PYTHON))

    def build(self) -> ReleaseManifest:
        return self.repo.build(self.platform, author="tester")[0]

    @staticmethod
    def jobs(manifest: ReleaseManifest) -> tuple[Artifact, ...]:
        return manifest.of_kind(ArtifactKind.SPARK_JOB)
