"""The reference platform's non-Airflow assets are what the README claims, and they pass validation."""

from __future__ import annotations

import json
import re
import tempfile
import tomllib
from pathlib import Path

import avro.schema
import pytest
import yaml

from finsight_release.envs.platform_config import load_platform_config
from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.terraform.checks import check_plan_file

ASSETS = REPO_ROOT / "release_assets"
MODES = {
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
}


def test_fifteen_spark_jobs_with_entry_point_dependencies_and_sample() -> None:
    jobs = sorted(p for p in (ASSETS / "spark").iterdir() if p.is_dir())
    assert len(jobs) == 15
    for job in jobs:
        project = tomllib.loads((job / "pyproject.toml").read_text())["project"]
        assert any(dep.startswith("pyspark") for dep in project["dependencies"])
        (entry,) = project["scripts"].values()
        module = entry.split(":")[0]
        assert (job / "src" / Path(*module.split("."))).with_suffix(".py").is_file()
        spec = yaml.safe_load((job / "job.yaml").read_text())
        assert spec["entry_point"] == entry and (job / spec["sample"]).is_file()


def test_eight_avro_topics_parse_with_history_and_a_mode() -> None:
    topics = sorted(p for p in (ASSETS / "streaming").iterdir() if p.is_dir())
    assert len(topics) == 8
    for topic in topics:
        assert yaml.safe_load((topic / "topic.yaml").read_text())["compatibility"] in MODES
        for path in [topic / "schema.avsc", *sorted((topic / "history").glob("*.avsc"))]:
            assert avro.schema.parse(path.read_text()).type == "record"
        assert list((topic / "history").glob("*.avsc"))


def test_terraform_plans_parse_and_pass_policy() -> None:
    stacks = sorted(p for p in (ASSETS / "terraform").iterdir() if p.is_dir())
    assert len(stacks) >= 6
    for stack in stacks:
        assert list(stack.glob("*.tf"))
        plan = json.loads((stack / "plan.json").read_text())
        assert plan["format_version"] and plan["resource_changes"]
        errors = [f for f in check_plan_file(stack / "plan.json") if f.severity == "error"]
        assert not errors, [str(f) for f in errors]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_env_configs_validate_and_hold_only_references(env: str) -> None:
    config = load_platform_config(ASSETS / "config" / f"{env}.yaml")
    assert {"snowflake_default", "aws_default", "postgres_core_banking"} <= set(config.connections)
    refs = [str(r) for r in config.iter_secret_refs()]
    assert refs and all(r.startswith("env:" if env == "dev" else "aws-sm:") for r in refs)
    assert (config.promotion_window is not None) == (env == "prod")


def test_images_are_pinned_by_digest() -> None:
    images = sorted(p for p in (ASSETS / "images").iterdir() if p.is_dir())
    assert len(images) >= 3
    for image in images:
        from_lines = [
            line
            for line in (image / "Dockerfile").read_text().splitlines()
            if line.startswith("FROM")
        ]
        assert from_lines and all(re.search(r"@sha256:[0-9a-f]{64}\b", line) for line in from_lines)
        assert re.fullmatch(
            r"sha256:[0-9a-f]{64}", yaml.safe_load((image / "image.yaml").read_text())["digest"]
        )


def test_reference_release_has_every_kind() -> None:
    repo = ReleaseRepository(LocalObjectStore(Path(tempfile.mkdtemp())))
    manifest, _ = repo.build(REPO_ROOT, "test")
    kinds = {a.kind for a in manifest.artifacts}
    assert kinds == set(ArtifactKind)
    assert len(manifest.of_kind(ArtifactKind.SPARK_JOB)) == 15
    assert len(manifest.of_kind(ArtifactKind.STREAM_SCHEMA)) == 8
