"""One check result, carrying the release it judged."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["dbt_test", "contract", "freshness"]
Severity = Literal["blocking", "warn"]


class CheckResult(BaseModel):
    """A check's verdict on one asset of the release ``release_id`` publishes in ``environment``.

    ``severity`` says what a failure means: ``blocking`` marks the release unhealthy there, ``warn``
    is reported only.
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

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity == "blocking"

    def line(self) -> str:
        verdict = "passed" if self.passed else f"FAILED ({self.severity})"
        return f"{self.kind} {self.asset} {self.name}: {verdict}{': ' + self.detail if self.detail else ''}"
