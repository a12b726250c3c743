"""Which goes first when a topic changes: its schema (what producers write with) or its consumers.

The rule, per compatibility mode of the topic:

    BACKWARD (and _TRANSITIVE)  consumers first: a new reader reads old data, an old reader may
                                not read new data, so every consumer upgrades before the registry
                                moves producers to the new version.
    FORWARD (and _TRANSITIVE)   producers first: an old reader reads new data, so the registry
                                moves producers to the new version before consumers upgrade.
    FULL (and _TRANSITIVE)      either order is safe; the registry goes first.
    NONE                        no order is safe: refused unless an operator gives an override reason.

A rollback (to a version registered before the live one) runs the reverse order: the reasoning is
the same with old and new swapped.

Before anything is registered, the project's own compatibility check
(:func:`finsight_release.validate.streaming.compatibility.check_compatibility`, the one validation
runs) compares the new schema with the versions the registry holds up to the live one.
"""

from __future__ import annotations

from enum import StrEnum

from finsight_release.errors import StreamingDeployError
from finsight_release.targets.streaming.schema_registry import SchemaVersion
from finsight_release.validate.streaming.check import parse_schema_text
from finsight_release.validate.streaming.compatibility import (
    CompatibilityMode,
    Incompatibility,
    check_compatibility,
)


class Order(StrEnum):
    """Which side of a topic changes first."""

    CONSUMERS_FIRST = "consumers_first"
    PRODUCERS_FIRST = "producers_first"
    EITHER = "either"


def deploy_order(
    subject: str, mode: CompatibilityMode, rolling_back: bool, none_override: str | None
) -> Order:
    """The order for ``mode`` (reversed for a rollback); StreamingDeployError for NONE without an
    override."""
    if mode is CompatibilityMode.NONE:
        if not none_override:
            raise StreamingDeployError(
                f"streaming/schema: {subject} has compatibility NONE: no deploy order keeps running "
                "producers and consumers compatible; refused (FINSIGHT_SCHEMA_NONE_OVERRIDE=<reason> "
                "to deploy anyway)"
            )
        return Order.EITHER
    if mode.checks_backward and mode.checks_forward:
        return Order.EITHER
    forward = Order.CONSUMERS_FIRST if mode.checks_backward else Order.PRODUCERS_FIRST
    if not rolling_back:
        return forward
    return Order.PRODUCERS_FIRST if forward is Order.CONSUMERS_FIRST else Order.CONSUMERS_FIRST


def incompatibilities(
    subject: str,
    definition: str,
    mode: CompatibilityMode,
    registered: list[SchemaVersion],
    live: int | None,
) -> list[Incompatibility]:
    """What stops ``definition`` from being registered after the registry's versions up to the live
    one (all of them when nothing is live), under ``mode``: the validation check's own verdict."""
    new = parse_schema_text(definition, f"{subject} (new schema)")
    previous = [
        (f"registered v{v.number}", parse_schema_text(v.definition, f"{subject} v{v.number}"))
        for v in registered
        if live is None or v.number <= live
    ]
    return check_compatibility(new, previous, mode)
