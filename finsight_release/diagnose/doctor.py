"""``doctor``: probe an environment layer by layer, in dependency order, and stop at the first failure.

Order: release artifacts -> container images (ECR) -> infrastructure drift -> DAG bundle parses ->
secrets and connections resolve -> warehouse reachable -> credentials accepted -> grants present ->
live schema matches the dbt project. A lower layer failing makes every higher one meaningless (no
point testing grants on a warehouse that cannot be reached), so the first failure is the diagnosis.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from finsight_release.diagnose.layers import PROBES, DoctorContext, ProbeResult


@dataclass(frozen=True)
class LayerReport:
    """One probed layer: its status (ok, failed, skipped), what was found, how long it took."""

    layer: str
    status: str
    detail: str
    seconds: float
    evidence: str = ""


@dataclass
class DoctorReport:
    """All probed layers, and for the first failing one its diagnosis."""

    environment: str
    layers: list[LayerReport] = field(default_factory=list)
    diagnosis: Any = None

    @property
    def failed_layer(self) -> LayerReport | None:
        return next((layer for layer in self.layers if layer.status == "failed"), None)

    @property
    def ok(self) -> bool:
        return self.failed_layer is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "ok": self.ok,
            "failed_layer": self.failed_layer.layer if self.failed_layer else None,
            "layers": [vars(layer) for layer in self.layers],
            "diagnosis": self.diagnosis.model_dump()
            if hasattr(self.diagnosis, "model_dump")
            else self.diagnosis,
        }


def run_doctor(
    ctx: DoctorContext,
    probes: Sequence[tuple[str, Callable[[DoctorContext], ProbeResult]]] = PROBES,
    progress: Callable[[str], None] | None = None,
) -> DoctorReport:
    """Run ``probes`` in order; stop at the first failing layer and diagnose it."""
    report = DoctorReport(environment=str(ctx.env))
    for layer, probe in probes:
        if progress:
            progress(layer)
        start = time.perf_counter()
        try:
            result = probe(ctx)
        except Exception as exc:  # noqa: BLE001 - a crashing probe is a failed layer, not a crashed doctor
            result = ProbeResult(
                "failed",
                f"probe crashed: {type(exc).__name__}: {exc}",
                f"{type(exc).__name__}: {exc}",
            )
        report.layers.append(
            LayerReport(
                layer,
                result.status,
                result.detail,
                round(time.perf_counter() - start, 3),
                result.evidence,
            )
        )
        if result.status == "failed":
            report.diagnosis = diagnose_layer(layer, result)
            break
    return report


def diagnose_layer(layer: str, result: ProbeResult) -> Any:
    """Classify the failing layer's evidence with the failure classifier, told which step failed."""
    from finsight_release.diagnose.classifier import DiagnosisContext, diagnose_text

    return diagnose_text(
        result.evidence or result.detail, DiagnosisContext(failed_step=f"doctor:{layer}")
    )
