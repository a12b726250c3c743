"""Test hook: crash this process at a named point of an operation, as ``kill -9`` would.

The fault-injection tests (tests/envs/test_fault_injection.py) run the CLI with
``FINSIGHT_FAULT_AT=<point>`` and check that the next command converges the environment to exactly
one live release. Points are named ``<step>`` or ``<step>:<qualifier>`` (a state or a target name),
e.g. ``state:switching``, ``switch.done:warehouse``, ``folder.link:airflow/dags``. Unset (always, in
production) it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "FINSIGHT_FAULT_AT"


def fault_point(step: str, qualifier: str | None = None) -> None:
    """SIGKILL this process when ``FINSIGHT_FAULT_AT`` names this point (test hook; no-op otherwise)."""
    wanted = os.environ.get(FAULT_ENV)
    if wanted and wanted == (step if qualifier is None else f"{step}:{qualifier}"):
        os.kill(os.getpid(), signal.SIGKILL)
