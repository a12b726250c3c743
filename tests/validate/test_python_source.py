"""Parsing from many threads at once: the shared parser lock keeps CPython's AST conversion consistent.

The workload provokes python/cpython gh-106905 on the interpreters it affects (3.11.7 here): garbage
cycles whose ``__del__`` releases the GIL are collected in the middle of a parse, so another thread's
parse interleaves. Through plain ``ast.parse`` it raised ``SystemError: AST constructor recursion
depth mismatch`` in each of three runs here (it once failed the demo's validation); through
``parse_python`` it never does.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from finsight_release.validate.python_source import parse_python

NESTED = "x = " + "[" * 30 + "1" + "]" * 30 + "\n"


class GilYielder:
    """A reference cycle whose finalizer releases the GIL when the collector frees it."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        time.sleep(0)


@pytest.fixture
def busy_interpreter() -> Iterator[None]:
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(1e-6)
    gc.set_threshold(50, 5, 5)
    yield
    sys.setswitchinterval(interval)
    gc.set_threshold(*thresholds)


def test_parallel_parses_never_collide(busy_interpreter: None) -> None:
    def parse_many(_: int) -> int:
        failures = 0
        for _ in range(10):
            [GilYielder() for _ in range(40)]
            try:
                tree = parse_python(NESTED * 20)
            except SystemError:
                failures += 1
                continue
            assert len(tree.body) == 20
        return failures

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(parse_many, range(200))) == 0
