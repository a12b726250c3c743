"""Heaviest test files first, so ``pytest -n 2 --dist loadfile`` keeps both workers busy to the end.

``tests/file_costs.json`` holds each file's seconds in a full run (setup + call + teardown of its
tests). The root conftest orders the collected files by it, heaviest first (files not in it last,
in collection order), and turns off xdist's own reordering of ``loadfile`` scopes (by number of
tests, which put the few-test but slowest files, such as the demo, at the end of the queue).

Refresh the record after a full run with durations::

    pytest -n 2 --dist loadfile -q --durations=0 > /tmp/durations.log 2>&1
    python -m tests.file_costs /tmp/durations.log
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

COSTS = Path(__file__).with_name("file_costs.json")
_LINE = re.compile(r"^\s*([\d.]+)s (?:setup|call|teardown)\s+(\S+?)::")


def load_costs(path: Path = COSTS) -> dict[str, float]:
    """Seconds per test file (path relative to the repository root), empty when not recorded."""
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        return {}


def heaviest_files_first(items: list[pytest.Item], costs: dict[str, float]) -> None:
    """Reorder ``items`` in place: files by recorded cost, descending; within a file, as collected."""
    first_seen: dict[str, int] = {}
    for item in items:
        first_seen.setdefault(item.nodeid.split("::", 1)[0], len(first_seen))

    def key(item: pytest.Item) -> tuple[float, int]:
        path = item.nodeid.split("::", 1)[0]
        return (-costs.get(path, 0.0), first_seen[path])

    items.sort(key=key)  # stable: a file's own tests keep their order


def costs_from_durations(log: str) -> dict[str, float]:
    """Seconds per file from the ``--durations=0`` lines of a pytest log."""
    total: Counter[str] = Counter()
    for line in log.splitlines():
        match = _LINE.match(line)
        if match:
            total[match.group(2)] += float(match.group(1))
    return {path: round(seconds, 1) for path, seconds in total.most_common()}


if __name__ == "__main__":
    costs = costs_from_durations(Path(sys.argv[1]).read_text())
    COSTS.write_text(json.dumps(costs, indent=1) + "\n")
    sys.stdout.write(f"{len(costs)} files, {sum(costs.values()):.0f} s in all -> {COSTS}\n")
