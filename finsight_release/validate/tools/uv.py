"""uv, the resolver and installer the packaging checks drive: where it is and how a call is run."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from finsight_release import toolchain
from finsight_release.errors import UvError

UV_TIMEOUT_S = 300.0


def run_uv(
    args: list[str], timeout: float = UV_TIMEOUT_S, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``uv ARGS`` and return the completed process (a non-zero exit is the caller's to judge)."""
    try:
        return subprocess.run(
            [str(toolchain.uv()), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise UvError(f"uv {args[0] if args else ''} did not finish within {timeout:.0f}s") from exc


_BOILERPLATE = re.compile(
    r"^(error: |× )?No solution found when resolving dependencies:?$|^(error|cause): "
)


def uv_explanation(stderr: str, limit: int = 600) -> str:
    """uv's error output on one line, without its hints and headings, cut to ``limit`` characters.

    What remains is the resolver's reasoning ("Because x was not found in the package registry and ...").
    """
    lines = [
        line.strip()
        for line in stderr.splitlines()
        if line.strip() and not line.strip().startswith("hint")
    ]
    lines = [_BOILERPLATE.sub("", line) for line in lines]
    text = " ".join(line for line in lines if line) or "uv failed without a message"
    return text if len(text) <= limit else text[: limit - 3] + "..."
