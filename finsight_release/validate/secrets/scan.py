"""``secrets.scan``: no credential or key anywhere in a release's artifacts, reported without its value.

Walks each artifact's directory on disk (symlinks included, never followed), so a link that leaves
the platform tree is an ERROR even though :func:`list_files` never packs it. Binary files are INFO
(not scanned), files over 5 MB a WARNING (too large to scan), unreadable files an ERROR. A line
carrying ``finsight: allow-secret`` (or detect-secrets' ``pragma: allowlist secret``) is skipped, for
test fixtures that must contain a fake credential.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from finsight_release.release.artifact import Artifact, ArtifactKind, is_ignored
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.secrets.patterns import PREFILTER_PATTERN, find_secrets

CHECK_ID = "secrets.scan"
MAX_SCAN_BYTES = 5 * 1024 * 1024
BINARY_SNIFF_BYTES = 8192
# The combined prefilter on bytes: a file with none of the anchors is skipped without decoding.
PREFILTER_BYTES = re.compile(PREFILTER_PATTERN.removeprefix("(?i)").lower().encode())


def artifact_root(ctx: ValidationContext, artifact: Artifact) -> Path:
    """Where an artifact's files are on disk in the platform tree being validated."""
    return ctx.platform / artifact.source


def walk_artifact(root: Path) -> Iterator[tuple[str, Path]]:
    """(posix path relative to ``root``, path) of every file or symlink under ``root``, links not followed."""
    if root.is_file() or root.is_symlink():
        yield root.name, root
        return
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(directory)
        # Symlinked directories are listed in dirnames; report them as entries, never descend.
        for name in list(dirnames):
            if (base / name).is_symlink():
                dirnames.remove(name)
                filenames.append(name)
        for name in sorted(filenames):
            path = base / name
            relative = path.relative_to(root)
            if not is_ignored(relative):
                yield relative.as_posix(), path


def is_binary(head: bytes) -> bool:
    """NUL bytes, or bytes that are not UTF-8 text, mean a binary file."""
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sniff boundary is still text.
        return exc.start < len(head) - 4
    return False


def escapes_tree(link: Path, platform: Path) -> bool:
    """True when a symlink resolves outside the platform tree (or cannot be resolved)."""
    try:
        target = link.resolve(strict=False)
        return not target.is_relative_to(platform.resolve())
    except (OSError, RuntimeError):
        return True


class SecretsScanCheck(CheckDefaults):
    """Scan every artifact's files for credentials and keys; findings give file and line, never the value."""

    id = CHECK_ID
    kinds = frozenset(ArtifactKind)

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            findings.extend(self.scan_artifact(ctx, artifact))
        return findings

    def scan_artifact(self, ctx: ValidationContext, artifact: Artifact) -> list[Finding]:
        """Findings for one artifact's files."""
        root = artifact_root(ctx, artifact)
        prefix = "" if root.is_file() else f"{artifact.source}/"
        if not root.exists() and not root.is_symlink():
            return [
                self._finding(artifact, Severity.ERROR, artifact.source, "artifact path is missing")
            ]
        findings: list[Finding] = []
        for relative, path in walk_artifact(root):
            display = f"{prefix}{relative}" if prefix else artifact.source
            findings.extend(self.scan_file(ctx, artifact, path, display))
        return findings

    def scan_file(
        self, ctx: ValidationContext, artifact: Artifact, path: Path, display: str
    ) -> list[Finding]:
        """Findings for one file (``display`` is its path relative to the platform tree)."""
        if path.is_symlink():
            if escapes_tree(path, ctx.platform):
                return [
                    self._finding(
                        artifact,
                        Severity.ERROR,
                        display,
                        "symlink escapes the platform tree",
                        "replace the link with the file's content, or point it inside the tree",
                    )
                ]
            return []
        try:
            size = path.stat().st_size
            if size > MAX_SCAN_BYTES:
                return [
                    self._finding(
                        artifact,
                        Severity.WARNING,
                        display,
                        f"too large to scan ({size / 1024 / 1024:.1f} MB > 5 MB)",
                        "large files do not belong in a release artifact; store data outside the release",
                    )
                ]
            data = path.read_bytes()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return [
                self._finding(
                    artifact, Severity.ERROR, display, f"unreadable file {display}: {reason}"
                )
            ]
        if is_binary(data[:BINARY_SNIFF_BYTES]):
            return [
                self._finding(
                    artifact, Severity.INFO, display, "binary file not scanned for secrets"
                )
            ]
        if not PREFILTER_BYTES.search(data.lower()):
            return []
        return [
            self._finding(
                artifact,
                Severity.ERROR,
                display,
                f"{hit.description} found (value masked: {hit.masked})",
                "remove it, rotate the credential, and reference it instead (aws-sm:<name> or env:<VAR>)",
                hit.line,
            )
            for hit in find_secrets(data.decode("utf-8", errors="replace"))
        ]

    @staticmethod
    def _finding(
        artifact: Artifact,
        severity: Severity,
        file: str,
        message: str,
        hint: str | None = None,
        line: int | None = None,
    ) -> Finding:
        return Finding.on(
            artifact, CHECK_ID, message, severity=severity, file=file, line=line, hint=hint
        )
