"""``images.*``: a container image is identified by an immutable digest and built from pinned bases.

- ``images.spec``: ``image.yaml`` names the ECR repository and a ``sha256:`` digest (a tag can move,
  so a release would not mean the same bytes);
- ``images.unpinned_base``: every ``FROM`` of the Dockerfile names a base by ``@sha256:`` digest (or
  an earlier build stage), so a rebuild cannot silently pick up a new base.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from finsight_release.errors import ArtifactError
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.layout import read_image_spec
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding, Severity

# FROM [--platform=...] image [AS stage]
FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)


def unpinned_bases(dockerfile: str) -> list[tuple[int, str]]:
    """(line, image) of each ``FROM`` that is neither digest-pinned nor an earlier stage."""
    stages: set[str] = set()
    found = []
    for number, line in enumerate(dockerfile.splitlines(), start=1):
        match = FROM.match(line)
        if not match:
            continue
        image, stage = match.group(1), match.group(2)
        if "@sha256:" not in image and image.lower() not in stages and image.lower() != "scratch":
            found.append((number, image))
        if stage:
            stages.add(stage.lower())
    return found


class ImageSpecCheck(CheckDefaults):
    """Each image's spec gives an immutable digest, and its Dockerfile's bases are pinned."""

    id = "images.spec"
    kinds = frozenset({ArtifactKind.CONTAINER_IMAGE})

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            root = ctx.platform / artifact.source
            try:
                read_image_spec(root)
            except ArtifactError as exc:
                findings.append(
                    Finding(
                        check_id=self.id,
                        severity=Severity.ERROR,
                        artifact=artifact.name,
                        file=f"{artifact.source}/image.yaml",
                        message=str(exc).replace(f"{ctx.platform}/", ""),
                        hint="image.yaml: repository: <ECR repository>, digest: sha256:<64 hex> (from the CI push)",
                    )
                )
            dockerfile = root / "Dockerfile"
            try:
                text = (
                    dockerfile.read_text(encoding="utf-8", errors="replace")
                    if dockerfile.is_file()
                    else ""
                )
            except OSError:
                continue  # secrets.scan reports unreadable files
            findings += [
                Finding(
                    check_id="images.unpinned_base",
                    severity=Severity.ERROR,
                    artifact=artifact.name,
                    file=f"{artifact.source}/Dockerfile",
                    line=line,
                    message=f"base image {image} is not pinned by digest",
                    hint=f"FROM {image.split(':')[0]}@sha256:<digest> (docker buildx imagetools inspect {image})",
                )
                for line, image in unpinned_bases(text)
            ]
        return findings
