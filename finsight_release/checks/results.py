"""One check result, carrying the release it judged."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["dbt_test", "contract", "freshness"]
Severity = Literal["blocking", "warn"]
Verdict = Literal["passed", "failed", "inconclusive"]  # of a release, from all its checks


class CheckResult(BaseModel):
    """A check's verdict on one asset of the release ``release_id`` publishes in ``environment``.

    ``severity`` says what a failure means: ``blocking`` marks the release unhealthy there, ``warn``
    is reported only. ``inconclusive``: the check could not decide (it errored, or the data it reads
    is late); it neither passes nor blocks, and the release is judged again (``checks.health``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Kind
    asset: str  # the relation judged: "analytics.fct_payments", "raw.payments__payments"
    severity: Severity
    passed: bool
    detail: str = ""
    release_id: str
    environment: str
    inconclusive: bool = False

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity == "blocking" and not self.inconclusive

    def line(self) -> str:
        verdict = (
            "passed"
            if self.passed
            else "INCONCLUSIVE"
            if self.inconclusive
            else f"FAILED ({self.severity})"
        )
        return f"{self.kind} {self.asset} {self.name}: {verdict}{': ' + self.detail if self.detail else ''}"
