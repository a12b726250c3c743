"""The one way text becomes one line: error messages, findings and quoted tool output are one line
everywhere (terminal rows, JUnit attributes, Markdown tables, audit events)."""

from __future__ import annotations


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` with every run of whitespace (newlines included) folded to one space, cut to ``limit``."""
    folded = " ".join(str(text if text is not None else "").split())
    if limit is not None and len(folded) > limit:
        return folded[: max(0, limit - 3)] + "..."
    return folded


def exception_line(exc: BaseException, limit: int | None = None) -> str:
    """``Type: first line of the message`` for an exception."""
    lines = str(exc).strip().splitlines()
    return one_line(f"{type(exc).__name__}: {lines[0] if lines else ''}", limit)
