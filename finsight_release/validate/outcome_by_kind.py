"""A validation report seen per (check, artifact kind): what each kind's check result is.

The Dagster layer shows every core check as one blocking check on each ``release/<kind>`` asset it
covers, so a report must be split by kind. A finding counts on the kind of the artifact it names; a
check that crashed, or a finding about the check's whole run rather than one artifact of the release
(``spark/*``: no JVM), counts on every kind the check covers, since none of them was vouched for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from finsight_release.release.artifact import ArtifactKind
from finsight_release.release.manifest import ReleaseManifest
from finsight_release.validate.check import Check
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.runner import CheckStatus, ValidationReport


@dataclass(frozen=True)
class KindOutcome:
    """One check's result on the artifacts of one kind of a release."""

    check_id: str
    kind: ArtifactKind
    status: CheckStatus
    seconds: float
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity.is_blocking]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def passed(self) -> bool:
        return not self.errors


def outcomes_by_kind(
    report: ValidationReport, manifest: ReleaseManifest, checks: Sequence[Check]
) -> list[KindOutcome]:
    """Each check's result on each kind it covers, in report order and kind-name order."""
    kinds_of = {check.id: check.kinds for check in checks}
    release_names = {a.name for a in manifest.artifacts}
    outcomes = []
    for result in report.results:
        crashed = result.status is CheckStatus.CRASHED
        for kind in sorted(kinds_of.get(result.check_id, ()), key=lambda k: k.value):
            names = {a.name for a in manifest.of_kind(kind)}
            findings = tuple(
                f
                for f in result.findings
                if crashed or f.artifact in names or f.artifact not in release_names
            )
            outcomes.append(
                KindOutcome(result.check_id, kind, result.status, result.seconds, findings)
            )
    return outcomes
