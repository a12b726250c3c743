"""``dbt.*``: the dbt project parses, its breaking changes are named with their blast radius, and the
modified models build and pass their tests in an isolated CI schema.

Breaking changes against the base release's manifest: a removed model, and on contracted models a
removed column, a changed data type or a removed constraint; each lists the downstream models and
exposures affected (the manifest's child map). Then ``dbt build --select state:modified+ --defer
--state <base>`` runs into schema ``ci_<digest12>`` of a throwaway DuckDB warehouse seeded with the
synthetic raw data (in AWS mode the same command targets Snowflake through the ``snowflake`` profile
target; that path is not exercised here).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finsight_release.reference.dbt_runner import DbtRunError, run_dbt
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding


def parse_manifest(project: Path, target: Path) -> dict[str, Any]:
    """``dbt parse`` into ``target`` and return the manifest."""
    run_dbt(["parse"], project, target_path=target)
    return json.loads((target / "manifest.json").read_text())


def contracted_columns(node: dict[str, Any]) -> dict[str, tuple[str | None, frozenset[str]]]:
    """column -> (data_type, constraint types) of a model with an enforced contract."""
    return {
        name: (
            (col.get("data_type") or "").lower() or None,
            frozenset(c.get("type", "") for c in col.get("constraints") or []),
        )
        for name, col in (node.get("columns") or {}).items()
    }


def downstream(manifest: dict[str, Any], unique_id: str) -> list[str]:
    """Every model and exposure downstream of ``unique_id`` (transitively), by name."""
    children, seen, stack = manifest.get("child_map", {}), set(), [unique_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen and child.split(".")[0] in {"model", "exposure"}:
                seen.add(child)
                stack.append(child)
    return sorted(c.split(".")[-1] for c in seen)


def breaking_changes(base: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(model, what broke, affected downstream) for every breaking change from ``base`` to ``new``."""
    changes = []
    new_models = {
        n["name"]: (uid, n) for uid, n in new["nodes"].items() if n["resource_type"] == "model"
    }
    for uid, node in base["nodes"].items():
        if node["resource_type"] != "model":
            continue
        name = node["name"]
        if name not in new_models:
            changes.append((name, "model removed or renamed", downstream(base, uid)))
            continue
        if not (node.get("contract") or {}).get("enforced"):
            continue
        new_uid, new_node = new_models[name]
        before, after = contracted_columns(node), contracted_columns(new_node)
        for column, (data_type, constraints) in before.items():
            if column not in after:
                what = f"column {column!r} removed from the contract"
            elif data_type and after[column][0] and data_type != after[column][0]:
                what = f"column {column!r} type changed {data_type} -> {after[column][0]}"
            elif constraints - after[column][1]:
                what = f"constraint {sorted(constraints - after[column][1])[0]} removed from {column!r}"
            else:
                continue
            changes.append((name, what, downstream(new, new_uid)))
    return changes


class DbtCheck(CheckDefaults):
    """Parse, breaking changes against the base, and a state:modified+ build in a CI schema."""

    id = "dbt.project"
    kinds = frozenset({ArtifactKind.DBT_PROJECT})
    parallel_safe = True

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            with tempfile.TemporaryDirectory(prefix="finsight-dbt-ci-") as tmp:
                findings += self._check(ctx, artifact, Path(tmp))
        return findings

    def _finding(self, artifact: Artifact, check_id: str, message: str, hint: str) -> Finding:
        return Finding.on(artifact, check_id, message, file=artifact.source, hint=hint)

    def _check(self, ctx: ValidationContext, artifact: Artifact, tmp: Path) -> list[Finding]:
        project = ctx.platform / artifact.source
        try:
            new = parse_manifest(project, tmp / "new")
        except DbtRunError as exc:
            return [
                self._finding(
                    artifact, "dbt.parse", str(exc), "run `dbt parse` locally and fix the error"
                )
            ]
        findings: list[Finding] = []
        base_dir = ctx.base_dir(artifact.name)
        state: list[str] = []
        if base_dir is not None:
            base = parse_manifest(base_dir, tmp / "base")
            for model, what, affected in breaking_changes(base, new):
                impact = f"; affects {', '.join(affected[:10])}" if affected else ""
                findings.append(
                    self._finding(
                        artifact,
                        "dbt.breaking_change",
                        f"{model}: {what}{impact}",
                        "version the model or migrate the downstream models and exposures in the same release",
                    )
                )
            state = ["--select", "state:modified+", "--defer", "--state", str(tmp / "base")]
        findings += self._ci_build(ctx, artifact, project, tmp, state)
        return findings

    def _ci_build(
        self, ctx: ValidationContext, artifact: Artifact, project: Path, tmp: Path, state: list[str]
    ) -> list[Finding]:
        from finsight_release.reference.synthetic import generate_warehouse

        database = Path(ctx.options.get("duckdb_path") or tmp / "ci.duckdb")
        if not database.exists():
            generate_warehouse(database)
        try:
            run_dbt(
                ["build", *state],
                project,
                database,
                f"ci_{artifact.digest[:12]}",
                target_path=tmp / "build",
            )
        except DbtRunError as exc:
            check_id = "dbt.contract" if "contract" in str(exc).lower() else "dbt.build"
            return [
                self._finding(
                    artifact,
                    check_id,
                    str(exc),
                    "run `dbt build` locally; a failing test or contract blocks the release",
                )
            ]
        return []
