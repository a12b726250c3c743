"""Soda v4 data contracts (``soda_core``) verified against an environment's DuckDB warehouse.

The contracts are YAML files in the dbt project's ``contracts/`` folder, so they are versioned with
the release they judge: ``dataset: finsight/analytics/<mart>`` reads the published view (the release
the environment serves), ``finsight/raw/<table>`` a raw table. A FAILED check is blocking, a WARNED one
(a contract's warn threshold) is a warning; a contract that cannot run at all (unknown dataset, bad
YAML) is one inconclusive result naming the file and Soda's error (judged again, then the pipeline
pauses for a person: ``checks.health``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from finsight_release.checks.results import CheckResult

DATA_SOURCE = "finsight"


def contract_files(project: Path) -> list[Path]:
    folder = project / "contracts"
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []


def _asset(dataset: str) -> str:
    return ".".join(dataset.split("/")[1:]) or dataset


def verify_contracts(
    project: Path, database: Path, release_id: str, environment: str
) -> list[CheckResult]:
    """Verify every contract of ``project`` against ``database``; one result per Soda check."""
    os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")  # offline: telemetry stalls
    from soda_core.contracts.api.verify_api import verify_contract_locally

    files = contract_files(project)
    if not files:
        return []
    results: list[CheckResult] = []
    with tempfile.TemporaryDirectory(prefix="finsight-soda-") as scratch:
        source = Path(scratch) / "data_source.yml"
        source.write_text(
            f'type: duckdb\nname: {DATA_SOURCE}\nconnection:\n  database: "{database}"\n'
        )
        for contract in files:
            common = {"release_id": release_id, "environment": environment}
            try:
                session = verify_contract_locally(
                    data_source_file_path=str(source), contract_file_path=str(contract)
                )
            except Exception as exc:  # noqa: BLE001 - Soda's own errors become a blocking result
                results.append(
                    CheckResult(
                        name=contract.stem,
                        kind="contract",
                        asset=contract.name,
                        severity="blocking",
                        passed=False,
                        detail=f"contract did not run: {str(exc).splitlines()[0] if str(exc) else exc}",
                        inconclusive=True,
                        **common,
                    )
                )
                continue
            for verification in session.contract_verification_results:
                dataset = (
                    verification.contract.soda_qualified_dataset_name
                    if verification.contract
                    else contract.stem
                )
                if not verification.check_results:
                    results.append(
                        CheckResult(
                            name=contract.stem,
                            kind="contract",
                            asset=_asset(str(dataset)),
                            severity="blocking",
                            passed=False,
                            detail=(verification.get_errors_str() or "no check ran").splitlines()[
                                0
                            ],
                            inconclusive=True,
                            **common,
                        )
                    )
                for check in verification.check_results:
                    results.append(_result(check, _asset(str(dataset)), common))
    return results


def _result(check: object, asset: str, common: dict[str, str]) -> CheckResult:
    definition = getattr(check, "check", None)
    kind = str(getattr(definition, "type", "check"))
    column = getattr(definition, "column_name", None)
    name = f"{column}.{kind}" if column else kind
    outcome = str(getattr(check, "outcome", "")).rsplit(".", 1)[-1]
    value = getattr(check, "threshold_value", None)
    return CheckResult(
        name=name,
        kind="contract",
        asset=asset,
        severity="warn" if outcome == "WARNED" else "blocking",
        passed=outcome in {"PASSED", "NOT_EVALUATED"} and not getattr(check, "is_failed", False),
        detail="" if outcome == "PASSED" else f"{outcome.lower()}, measured {value}",
        release_id=common["release_id"],
        environment=common["environment"],
    )
