"""dbt driven per model: the overlay that points every ref at a physical relation, compile and build.

The warehouse target keeps its own copy of each dbt project version and adds one macro file to it,
``macros/_finsight_virtual_layer.sql``, overriding ``generate_schema_name`` and
``generate_alias_name``: a node listed in the ``_finsight_physical`` var is named by it (its physical
relation), any other node as the project itself names it. So one ``dbt build --select <changed>`` builds
the changed models into their fingerprint-named relations, and their refs to unchanged models resolve
to the relations those already have: nothing is copied.

A project that defines its own ``generate_schema_name`` / ``generate_alias_name`` keeps them: the copy
renames them ``finsight_project__<name>`` and the overlay calls them for every node not in the var
(the compile that gives the published names runs without the var, so it names exactly as the project
does).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from finsight_release.errors import DbtRunError
from finsight_release.reference.dbt_runner import run_dbt
from finsight_release.release.artifact import Artifact
from finsight_release.release.repository import ReleaseRepository
from finsight_release.targets.folder import make_readable
from finsight_release.targets.model_plan import ModelPlan, plan_from_manifest

OVERLAY_FILE = "_finsight_virtual_layer.sql"
MANIFEST_FILE = "target/manifest.json"  # a project copy's parsed manifest, written once
OVERRIDDEN = ("generate_schema_name", "generate_alias_name")
_SIGNATURES = {
    "generate_schema_name": ("custom_schema_name, node", "custom_schema_name, node", 0),
    "generate_alias_name": ("custom_alias_name=none, node=none", "custom_alias_name, node", 1),
}
_TEMPLATE = """{{% macro {name}({signature}) -%}}
  {{%- set physical = var('_finsight_physical', {{}}) -%}}
  {{%- if node is not none and node.unique_id in physical -%}}
    {{{{ physical[node.unique_id][{index}] }}}}
  {{%- else -%}}
    {{{{ {fallback}({arguments}) }}}}
  {{%- endif -%}}
{{%- endmacro %}}
"""


def _macro_pattern(name: str) -> re.Pattern[str]:
    return re.compile(r"(\{%-?\s*macro\s+)" + name + r"(\s*\()")


def install_overlay(project: Path) -> None:
    """Add the overlay macros to the project copy at ``project`` (idempotent), renaming the project's
    own overrides of the same macros so both can coexist."""
    own: set[str] = set()
    for sql in sorted(project.rglob("*.sql")):
        if sql.name == OVERLAY_FILE or {"target", "dbt_packages"} & set(sql.parts):
            continue
        text = sql.read_text()
        renamed = text
        for name in OVERRIDDEN:
            if _macro_pattern(name).search(renamed):
                renamed = _macro_pattern(name).sub(rf"\1finsight_project__{name}\2", renamed)
            if f"finsight_project__{name}" in renamed:
                own.add(name)
        if renamed != text:
            sql.write_text(renamed)
    macros = project / "macros"
    macros.mkdir(exist_ok=True)
    blocks = []
    for name in OVERRIDDEN:
        signature, arguments, index = _SIGNATURES[name]
        fallback = f"finsight_project__{name}" if name in own else f"default__{name}"
        blocks.append(
            _TEMPLATE.format(
                name=name, signature=signature, index=index, fallback=fallback, arguments=arguments
            )
        )
    (macros / OVERLAY_FILE).write_text(
        "-- Added by finsight_release: nodes in var _finsight_physical resolve to their physical\n"
        "-- relation; everything else is named as the project names it.\n" + "\n".join(blocks)
    )


def compile_manifest(project: Path, published_schema: str) -> dict[str, Any]:
    """``dbt compile`` the project against a scratch DuckDB file; its ``manifest.json``.

    The scratch file is always called ``finsight.duckdb``, so compiled SQL (and the fingerprints)
    are the same whichever environment's warehouse the project later builds into.
    """
    with tempfile.TemporaryDirectory(prefix="finsight-compile-") as scratch:
        result = run_dbt(
            ["compile"],
            project,
            Path(scratch) / "finsight.duckdb",
            published_schema,
            target_path=Path(scratch) / "target",
        )
        manifest: dict[str, Any] = json.loads((result.target_path / "manifest.json").read_text())
    return manifest


def compile_plan(project: Path, digest: str, published_schema: str) -> ModelPlan:
    """The :class:`ModelPlan` of the project from its compiled manifest (:func:`compile_manifest`),
    which is kept in the project copy for :func:`project_manifest`."""
    manifest = compile_manifest(project, published_schema)
    _keep_manifest(project, json.dumps(manifest))
    return plan_from_manifest(digest, manifest)


def project_copy(projects_dir: Path, artifact: Artifact, repo: ReleaseRepository) -> Path:
    """The dbt project version's directory with the overlay installed, materialized once (under a
    temporary name first, so a crash never leaves a half-written project that looks complete)."""
    project = projects_dir / artifact.digest
    if (project / "macros" / OVERLAY_FILE).is_file():
        return project
    projects_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=projects_dir, prefix=".staging-"))
    try:
        repo.materialize(artifact, tmp)
        install_overlay(tmp)
        make_readable(tmp)  # like the published folders: readable by the platform's other users
        if project.exists():  # a half-written directory from before this layout
            shutil.rmtree(project)
        os.rename(tmp, project)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return project


class DbtInvoker(Protocol):
    """Runs one dbt command (``args``) for a project copy against a DuckDB file, nodes outside the
    physical mapping in ``schema``; ``run_results.json`` lands in ``target_path``. Raises
    DbtRunError when dbt fails. The default runs dbt as a subprocess (:func:`dbt_subprocess`); the
    Dagster layer runs it through dagster-dbt inside the run that deploys."""

    def __call__(
        self, args: Sequence[str], project: Path, database: Path, schema: str, target_path: Path
    ) -> None: ...


def dbt_subprocess(
    args: Sequence[str], project: Path, database: Path, schema: str, target_path: Path
) -> None:
    """The default :class:`DbtInvoker`: the dbt CLI of this virtualenv as a subprocess."""
    run_dbt(list(args), project, database, schema, target_path=target_path)


def write_duckdb_profile(folder: Path, project: Path, database: Path, schema: str) -> Path:
    """Write a ``profiles.yml`` into ``folder`` pointing ``project``'s profile at the DuckDB file
    ``database`` (``schema``: the default schema of nodes outside the physical mapping)."""
    config = yaml.safe_load((project / "dbt_project.yml").read_text()) or {}
    profile = str(config.get("profile") or "default")
    output = {"type": "duckdb", "path": str(database), "schema": schema, "threads": 4}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(
        yaml.safe_dump({profile: {"target": "duckdb", "outputs": {"duckdb": output}}})
    )
    return folder


def project_manifest(project: Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` of a project copy: written by its compile
    (:func:`compile_plan`), else parsed now and kept (under a temporary name first)."""
    path = project / MANIFEST_FILE
    if not path.is_file():
        with tempfile.TemporaryDirectory(prefix="finsight-parse-") as scratch:
            run_dbt(["parse"], project, target_path=Path(scratch))
            _keep_manifest(project, (Path(scratch) / "manifest.json").read_text())
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def _keep_manifest(project: Path, text: str) -> None:
    path = project / MANIFEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


class SelectionFailed(DbtRunError):
    """A ``dbt build`` of a selection failed; ``outcome`` says which nodes did build."""

    def __init__(self, message: str, outcome: BuildOutcome) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class BuildOutcome:
    """What one ``dbt build`` of a selection did: per node status and message."""

    statuses: dict[str, str]
    messages: dict[str, str]

    def good_models(self, plan: ModelPlan, selected: Sequence[str]) -> set[str]:
        """Selected models that built and whose tests passed (safe to register as built)."""
        failed_tests = {
            t.unique_id
            for t in plan.tests
            if self.statuses.get(t.unique_id) in {"fail", "error", "runtime error"}
        }
        blamed = {p for t in plan.tests if t.unique_id in failed_tests for p in t.depends_on}
        return {
            uid for uid in selected if self.statuses.get(uid) == "success" and uid not in blamed
        }

    def passed_tests(self, plan: ModelPlan) -> set[str]:
        return {t.unique_id for t in plan.tests if self.statuses.get(t.unique_id) == "pass"}

    def failures(self) -> list[str]:
        """``<node>: <message>`` for each failed node, models first."""
        bad = [
            uid
            for uid, status in self.statuses.items()
            if status in {"error", "fail", "runtime error"}
        ]
        bad.sort(key=lambda uid: (not uid.startswith("model."), uid))
        return [f"{uid.split('.')[-1]}: {self.messages.get(uid) or 'failed'}" for uid in bad]


def build_selection(
    project: Path,
    database: Path,
    published_schema: str,
    dbt_vars: Mapping[str, Any],
    select: Sequence[str],
    command: str = "build",
    invoke: DbtInvoker = dbt_subprocess,
) -> BuildOutcome:
    """``dbt <command> --select <select>`` with the physical mapping, run by ``invoke``; returns
    per-node outcomes, raising DbtRunError (naming each failed node with dbt's message) when
    anything failed."""
    with tempfile.TemporaryDirectory(prefix="finsight-build-") as scratch:
        target_path = Path(scratch) / "target"
        # One --select value (dbt splits it on spaces): dagster-dbt reads a single value per flag.
        args = [command, "--select", " ".join(select), "--vars", json.dumps(dict(dbt_vars))]
        try:
            invoke(args, project, database, published_schema, target_path)
            error: DbtRunError | None = None
        except DbtRunError as exc:
            error = exc
        outcome = _outcome(target_path / "run_results.json")
    if error is not None:
        if not outcome.statuses:
            raise error  # dbt never ran a node (locked file, bad project): its own message says why
        raise SelectionFailed("; ".join(outcome.failures()[:4]) or str(error), outcome) from error
    return outcome


def _outcome(run_results: Path) -> BuildOutcome:
    if not run_results.exists():
        return BuildOutcome({}, {})
    results = json.loads(run_results.read_text()).get("results", [])
    return BuildOutcome(
        {r["unique_id"]: str(r["status"]) for r in results},
        {r["unique_id"]: " ".join(str(r.get("message") or "").split())[:300] for r in results},
    )
