"""Parsing from many threads at once: the shared parser lock keeps CPython's AST conversion consistent.

The workload provokes python/cpython gh-106905 on the interpreters it affects (3.11.7 here): garbage
cycles whose ``__del__`` releases the GIL are collected in the middle of a parse, so another thread's
parse interleaves. Through plain ``ast.parse`` it raised ``SystemError: AST constructor recursion
depth mismatch`` in each of three runs here (it once failed the demo's validation); through
``parse_python`` it never does. It runs in a fresh interpreter: threads other tests left behind in
this one could call ``ast.parse`` outside the lock.
"""

from __future__ import annotations

import subprocess
import sys

WORKLOAD = """
import gc, sys, time
from concurrent.futures import ThreadPoolExecutor
from finsight_release.validate.python_source import parse_python

sys.setswitchinterval(1e-6)
gc.set_threshold(50, 5, 5)
NESTED = "x = " + "[" * 30 + "1" + "]" * 30 + "\\n"


class GilYielder:
    def __init__(self):
        self.me = self  # a cycle: freed by the collector, mid-parse

    def __del__(self):
        time.sleep(0)  # releases the GIL inside the collection


def parse_many(_):
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
    print(sum(pool.map(parse_many, range(200))))
"""


def test_parallel_parses_never_collide() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WORKLOAD], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0"
