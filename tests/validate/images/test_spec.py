"""images.spec and images.unpinned_base on the reference images and on broken copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsight_release.errors import ArtifactError
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.images.spec import ImageSpecCheck, unpinned_bases
from tests.mini_platform import make_platform

DIGEST = "sha256:" + "c" * 64


def images(platform: Path, tmp_path: Path) -> list:
    artifacts = ReleaseRepository(LocalObjectStore(tmp_path / "s")).scan(platform, strict=False)
    return [a for a in artifacts if a.kind.value == "container_image"]


def test_reference_images_pass(tmp_path: Path) -> None:
    found = ImageSpecCheck().run(ValidationContext(platform=REPO_ROOT), images(REPO_ROOT, tmp_path))
    assert found == []


def test_mutable_tag_and_unpinned_base_are_errors(tmp_path: Path) -> None:
    platform = make_platform(
        tmp_path / "p",
        {
            "release_assets/images/airflow/image.yaml": "repository: r\ndigest: latest\n",
            "release_assets/images/airflow/Dockerfile": f"FROM python:3.11 AS build\nFROM base@{DIGEST}\nFROM build\n",
        },
    )
    found = {
        f.check_id: f
        for f in ImageSpecCheck().run(
            ValidationContext(platform=platform), images(platform, tmp_path)
        )
    }
    assert (
        "immutable digest" in found["images.spec"].message
        and str(platform) not in found["images.spec"].message
    )
    assert (
        found["images.unpinned_base"].line == 1
        and "python:3.11" in found["images.unpinned_base"].message
    )


def test_build_still_refuses_a_bad_image_spec(tmp_path: Path) -> None:
    platform = make_platform(
        tmp_path / "p", {"release_assets/images/airflow/image.yaml": "digest: [\n"}
    )
    with pytest.raises(ArtifactError, match="cannot read") as info:
        ReleaseRepository(LocalObjectStore(tmp_path / "s")).build(platform, "alice")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("dockerfile", "expected"),
    [
        (f"FROM --platform=linux/amd64 img@{DIGEST}\n", []),
        ("FROM scratch\n", []),
        ("from ubuntu\n", [(1, "ubuntu")]),
        (f"FROM a@{DIGEST} AS one\nFROM one\nFROM two\n", [(3, "two")]),
    ],
)
def test_unpinned_bases(dockerfile: str, expected: list) -> None:
    assert unpinned_bases(dockerfile) == expected
