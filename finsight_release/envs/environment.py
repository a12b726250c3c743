"""The environments a release moves through, in promotion order."""

from __future__ import annotations

from enum import StrEnum

from finsight_release.errors import UnknownEnvironmentError


class Environment(StrEnum):
    """dev -> staging -> prod. A release reaches an environment only from the one before it."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"

    @classmethod
    def parse(cls, name: str) -> Environment:
        """The environment called ``name``; raises UnknownEnvironmentError naming the valid ones."""
        try:
            return cls(name)
        except ValueError:
            valid = ", ".join(e.value for e in cls)
            raise UnknownEnvironmentError(
                f"unknown environment {name!r} (expected one of: {valid})"
            ) from None

    @property
    def upstream(self) -> Environment | None:
        """The environment a release must be live and healthy in before it may come here."""
        order = list(Environment)
        index = order.index(self)
        return order[index - 1] if index else None

    @property
    def is_prod(self) -> bool:
        return self is Environment.PROD
