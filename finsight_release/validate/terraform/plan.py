"""Reading ``terraform show -json`` plan output, tolerant of every format version 0.1 .. 1.2.

Old formats lack keys newer ones have (``resource_drift`` from TF 0.15.4, ``action_reason`` and
``replace_paths`` from 1.1/1.2, ``errored``/``applyable``/``complete`` later), and real files miss
keys that the docs promise (drift entries without ``address``). Every access here is defensive;
only input that is not a plan at all (bad JSON, a *state* file, a JSON document with no plan keys)
raises :class:`InvalidPlanError`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finsight_release.errors import InvalidPlanError

PLAN_KEYS = (
    "resource_changes",
    "planned_values",
    "prior_state",
    "resource_drift",
    "output_changes",
)
KNOWN_MAJOR_VERSIONS = ("0", "1")


@dataclass(frozen=True)
class ResourceChange:
    """One planned change (or one drift entry): address, type, actions and before/after values."""

    address: str
    type: str
    mode: str
    actions: tuple[str, ...]
    before: Any = None
    after: Any = None
    action_reason: str | None = None

    @property
    def is_replace(self) -> bool:
        return "delete" in self.actions and "create" in self.actions

    @property
    def is_delete(self) -> bool:
        return self.actions == ("delete",)

    @property
    def is_destructive(self) -> bool:
        """Deleted or replaced: the current object (and its data) goes away."""
        return "delete" in self.actions

    @property
    def is_noop(self) -> bool:
        return self.actions in (("no-op",), ())

    @property
    def verb(self) -> str:
        if self.is_replace:
            return "replace"
        return "/".join(self.actions) or "no-op"


@dataclass(frozen=True)
class DriftEntry:
    """A change Terraform detected outside of Terraform since the last apply."""

    address: str
    type: str
    actions: tuple[str, ...]
    changed_attributes: tuple[str, ...]

    def describe(self) -> str:
        what = (
            "deleted outside Terraform" if "delete" in self.actions else "changed outside Terraform"
        )
        attrs = (
            f" (attributes: {', '.join(self.changed_attributes[:8])})"
            if self.changed_attributes
            else ""
        )
        return f"{self.address} was {what}{attrs}"


@dataclass(frozen=True)
class Plan:
    """The parts of a plan the policy looks at."""

    format_version: str | None
    terraform_version: str | None
    changes: tuple[ResourceChange, ...]
    drift: tuple[ResourceChange, ...]
    text: str = ""
    warnings: tuple[str, ...] = field(default=())


def _address(entry: dict[str, Any]) -> str:
    """The entry's address, rebuilt from module/type/name/index when a file omits it."""
    if isinstance(entry.get("address"), str) and entry["address"]:
        return entry["address"]
    parts = [str(entry["module_address"])] if entry.get("module_address") else []
    prefix = "data." if entry.get("mode") == "data" else ""
    parts.append(f"{prefix}{entry.get('type', '?')}.{entry.get('name', '?')}")
    address = ".".join(parts)
    if "index" in entry and entry["index"] is not None:
        address += f"[{json.dumps(entry['index'])}]"
    return address


def _change(entry: Any) -> ResourceChange | None:
    if not isinstance(entry, dict):
        return None
    change: dict[str, Any] = entry["change"] if isinstance(entry.get("change"), dict) else {}
    actions: list[Any] = change["actions"] if isinstance(change.get("actions"), list) else []
    return ResourceChange(
        address=_address(entry),
        type=str(entry.get("type", "")),
        mode=str(entry.get("mode", "managed")),
        actions=tuple(str(a) for a in actions),
        before=change.get("before"),
        after=change.get("after"),
        action_reason=entry.get("action_reason")
        if isinstance(entry.get("action_reason"), str)
        else None,
    )


def _entries(data: dict[str, Any], key: str) -> tuple[ResourceChange, ...]:
    raw = data.get(key)
    if not isinstance(raw, list):
        return ()
    return tuple(c for c in (_change(e) for e in raw) if c is not None)


def parse_plan(text: str) -> Plan:
    """Parse plan JSON text.

    Raises:
        InvalidPlanError: not JSON, not an object, a state file, or no plan keys at all.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidPlanError(
            f"not valid JSON ({exc}); expected `terraform show -json <planfile>` output"
        ) from exc
    if not isinstance(data, dict):
        raise InvalidPlanError(
            f"not a Terraform plan: the JSON top level is a {type(data).__name__}, not an object"
        )
    if not any(key in data for key in PLAN_KEYS):
        if "values" in data:
            raise InvalidPlanError(
                "this is a Terraform state (`terraform show -json` without a plan file), not a plan: "
                "run `terraform plan -out=tfplan && terraform show -json tfplan`"
            )
        raise InvalidPlanError(
            f"not a Terraform plan: none of the keys {', '.join(PLAN_KEYS)} is present"
        )
    format_version = data.get("format_version")
    warnings = []
    if isinstance(format_version, str) and format_version.split(".")[0] not in KNOWN_MAJOR_VERSIONS:
        warnings.append(
            f"unknown plan format_version {format_version}; checked on a best-effort basis"
        )
    return Plan(
        format_version=str(format_version) if format_version is not None else None,
        terraform_version=str(data["terraform_version"]) if data.get("terraform_version") else None,
        changes=_entries(data, "resource_changes"),
        drift=_entries(data, "resource_drift"),
        text=text,
        warnings=tuple(warnings),
    )


def load_plan(path: Path) -> Plan:
    """Read and parse a plan file; unreadable files raise :class:`InvalidPlanError` too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidPlanError(f"cannot read plan {path}: {exc}") from exc
    return parse_plan(text)


def _changed_attributes(before: Any, after: Any) -> tuple[str, ...]:
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ()
    keys = sorted(set(before) | set(after))
    return tuple(k for k in keys if before.get(k) != after.get(k))


def drift_entries(plan: Plan) -> list[DriftEntry]:
    """The plan's ``resource_drift`` entries (empty for formats before TF 0.15.4), for drift detectors."""
    return [
        DriftEntry(
            address=entry.address,
            type=entry.type,
            actions=entry.actions,
            changed_attributes=_changed_attributes(entry.before, entry.after),
        )
        for entry in plan.drift
    ]


def plan_file_drift(path: Path) -> list[DriftEntry]:
    """Drift entries of a plan file; raises :class:`InvalidPlanError` for a file that is not a plan."""
    return drift_entries(load_plan(path))


def address_line(plan: Plan, address: str, section: str = "resource_changes") -> int | None:
    """1-based line of ``"address": "<address>"`` inside ``section`` of the plan text, when found."""
    start = plan.text.find(f'"{section}"')
    # A minified plan is one line: "line 1" would point at nothing useful.
    if start < 0 or plan.text.count("\n", 0, 4096) < 2:
        return None
    pattern = re.compile(r'"address"\s*:\s*' + re.escape(json.dumps(address)))
    match = pattern.search(plan.text, start)
    return plan.text.count("\n", 0, match.start()) + 1 if match else None
