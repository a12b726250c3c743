"""``finsight-release``: build, validate, promote, roll back, inspect and diagnose releases.

Every command runs the plain-Python core directly (no Dagster daemon needed) and only parses, calls and
renders: the core does the work and writes the audit events. Errors print one red line and exit
non-zero; ``--debug`` shows the traceback. One module per command group; importing them registers
their commands on :data:`main`.
"""

from finsight_release.cli import (
    airflow,
    demo,
    evidence,
    evidence_export,
    observability,
    releases,
    validation,
    warehouse,
)
from finsight_release.cli.app import main

__all__ = [
    "airflow",
    "demo",
    "evidence",
    "evidence_export",
    "main",
    "observability",
    "releases",
    "validation",
    "warehouse",
]
