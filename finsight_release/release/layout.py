"""Where each artifact kind lives in a platform tree, and discovery of the artifacts there.

A platform tree is this repository or a user's repository with the same layout::

    release_assets/airflow/dags/             airflow_dags          "airflow/dags"
    release_assets/airflow/requirements.txt  airflow_requirements  "airflow/requirements"
    release_assets/airflow/plugins/          airflow_plugins       "airflow/plugins"
    dbt_project/                             dbt_project           "dbt/project"
    release_assets/spark/<job>/              spark_job             "spark/<job>"
    release_assets/streaming/<topic>/        stream_schema         "streaming/<topic>"
    release_assets/terraform/<stack>/        terraform_stack       "terraform/<stack>"
    release_assets/config/<env>.yaml         env_config            "config/<env>"
    release_assets/images/<image>/           container_image       "images/<image>"
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from finsight_release.errors import ArtifactError, PlatformTreeError
from finsight_release.release.artifact import ArtifactKind, resolve_inside


@dataclass(frozen=True)
class ArtifactSource:
    """An artifact found in a platform tree, before hashing."""

    kind: ArtifactKind
    name: str
    root: Path
    metadata: dict[str, str]


# (kind, name, path) for kinds with exactly one artifact per tree.
SINGLE_ARTIFACTS: tuple[tuple[ArtifactKind, str, str], ...] = (
    (ArtifactKind.AIRFLOW_DAGS, "airflow/dags", "release_assets/airflow/dags"),
    (
        ArtifactKind.AIRFLOW_REQUIREMENTS,
        "airflow/requirements",
        "release_assets/airflow/requirements.txt",
    ),
    (ArtifactKind.AIRFLOW_PLUGINS, "airflow/plugins", "release_assets/airflow/plugins"),
    (ArtifactKind.DBT_PROJECT, "dbt/project", "dbt_project"),
)

# (kind, name prefix, parent directory) for kinds with one artifact per subdirectory.
DIRECTORY_ARTIFACTS: tuple[tuple[ArtifactKind, str, str], ...] = (
    (ArtifactKind.SPARK_JOB, "spark", "release_assets/spark"),
    (ArtifactKind.STREAM_SCHEMA, "streaming", "release_assets/streaming"),
    (ArtifactKind.TERRAFORM_STACK, "terraform", "release_assets/terraform"),
    (ArtifactKind.CONTAINER_IMAGE, "images", "release_assets/images"),
)

CONFIG_DIR = "release_assets/config"


def discover(platform: Path, strict: bool = True) -> Iterator[ArtifactSource]:
    """Yield every artifact source in ``platform`` in a stable order.

    Raises PlatformTreeError when the tree has none of the expected folders, so pointing the tool at
    the wrong directory fails with a message instead of building an empty release. An image whose
    ``image.yaml`` is unusable raises ArtifactError when ``strict`` (a build); otherwise (validation)
    it is yielded without metadata and the ``images.spec`` check reports it.

    A symlinked artifact root is yielded like any other: hashing it follows it only inside the tree
    (see :func:`~finsight_release.release.artifact.walk_files`), so a linked ``airflow/dags`` is
    never an empty artifact in silence. A symlinked job, topic, stack or image folder must resolve
    inside the tree: UnsafeSymlinkError when ``strict``; otherwise it is yielded and hashes empty.
    """
    if not platform.is_dir():
        raise PlatformTreeError(f"platform tree {platform} does not exist or is not a directory")
    found = False
    for kind, name, rel in SINGLE_ARTIFACTS:
        root = platform / rel
        if root.exists() or root.is_symlink():
            found = True
            yield ArtifactSource(kind, name, root, {})
    boundary = platform.resolve()
    for kind, prefix, rel in DIRECTORY_ARTIFACTS:
        parent = platform / rel
        if not parent.is_dir() or resolve_inside(parent, boundary, strict, rel) is None:
            continue
        for child in sorted(p for p in parent.iterdir() if not p.name.startswith((".", "_"))):
            target = resolve_inside(child, boundary, strict, child.relative_to(platform).as_posix())
            if target is None and child.is_symlink():
                # Validation only: an empty artifact whose linked root the secrets.scan check reports.
                found = True
                yield ArtifactSource(kind, f"{prefix}/{child.name}", child, {})
                continue
            if target is None or not target.is_dir():
                continue
            found = True
            meta = image_metadata(child, strict) if kind is ArtifactKind.CONTAINER_IMAGE else {}
            yield ArtifactSource(kind, f"{prefix}/{child.name}", child, meta)
    config_dir = platform / CONFIG_DIR
    if config_dir.is_dir():
        for path in sorted(config_dir.glob("*.yaml")):
            found = True
            yield ArtifactSource(ArtifactKind.ENV_CONFIG, f"config/{path.stem}", path, {})
    if not found:
        raise PlatformTreeError(
            f"{platform} is not a platform tree: expected release_assets/ and/or dbt_project/ "
            "(see README 'Platform tree layout')"
        )


def image_metadata(image_dir: Path, strict: bool = True) -> dict[str, str]:
    """ECR repository and immutable digest of an image from its ``image.yaml``.

    A mutable tag is never an identity: an image without a ``sha256:`` digest is refused here
    (ArtifactError; with ``strict=False``, empty metadata instead).
    """
    try:
        return read_image_spec(image_dir)
    except ArtifactError:
        if strict:
            raise
        return {}


def read_image_spec(image_dir: Path) -> dict[str, str]:
    """``image.yaml``'s repository and digest; ArtifactError with a one-line reason when unusable."""
    spec_path = image_dir / "image.yaml"
    try:
        spec = yaml.safe_load(spec_path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise ArtifactError(f"image {image_dir.name}: cannot read {spec_path}: {reason}") from exc
    spec = spec if isinstance(spec, dict) else {}
    repository, digest = str(spec.get("repository", "")), str(spec.get("digest", ""))
    if not repository or not digest.startswith("sha256:") or len(digest) != 71:
        raise ArtifactError(
            f"image {image_dir.name}: {spec_path} must give repository and an immutable digest "
            "'sha256:<64 hex>' (a mutable tag is not an identity)"
        )
    return {"repository": repository, "image_digest": digest}
