"""Parsing Python source into an AST from several check threads at once.

CPython before 3.11.8 / 3.12.1 keeps the recursion depth of its AST-to-object conversion in state
shared by all threads, so two ``ast.parse`` calls at once can fail with ``SystemError: AST constructor
recursion depth mismatch`` (python/cpython gh-106905). Checks run in parallel threads and several of
them parse DAG files, so every parse in the package goes through one lock; parsing is a small part of
each check, and the lock is uncontended on a fixed interpreter.
"""

from __future__ import annotations

import ast
import threading

_PARSE_LOCK = threading.Lock()


def parse_python(source: str | bytes) -> ast.Module:
    """``ast.parse(source)``, safe to call from any thread; raises SyntaxError/ValueError as it does."""
    with _PARSE_LOCK:
        return ast.parse(source)
