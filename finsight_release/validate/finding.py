"""Findings: what a pre-deploy check reports about an artifact."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator

from finsight_release.one_line import one_line
from finsight_release.release.artifact import Artifact


class Severity(StrEnum):
    """ERROR blocks the release; WARNING is reported but does not block; INFO is context."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def is_blocking(self) -> bool:
        return self is Severity.ERROR


class Finding(BaseModel):
    """One result of a check: id, severity, artifact, location, message and how to fix it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check_id: str
    severity: Severity
    artifact: str
    message: str
    file: str | None = None
    line: int | None = None
    hint: str | None = None

    @field_validator("message")
    @classmethod
    def _one_line(cls, message: str) -> str:
        """Messages are one line (terminal rows, JUnit attributes, Markdown tables): quoted tool output
        such as a YAML parser's caret diagram is folded onto it."""
        return one_line(message)

    @classmethod
    def on(
        cls,
        artifact: Artifact,
        check_id: str,
        message: str,
        *,
        severity: Severity = Severity.ERROR,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> Finding:
        """A finding about ``artifact`` (an error unless ``severity`` says otherwise)."""
        return cls(
            check_id=check_id,
            severity=severity,
            artifact=artifact.name,
            message=message,
            file=file,
            line=line,
            hint=hint,
        )

    def __str__(self) -> str:
        where = (
            f"{self.file}:{self.line}" if self.file and self.line else (self.file or self.artifact)
        )
        return f"[{self.severity}] {self.check_id} {where}: {self.message}"
