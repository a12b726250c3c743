"""Severity overrides: an environment raises or lowers any finding's severity in its config.

``validation.severities`` in ``release_assets/config/<env>.yaml`` maps a check id
(``airflow.rule.dynamic_start_date``) or a prefix (``airflow.rule.*``) to ``error``, ``warning`` or
``info``; the exact id wins over a prefix, a longer prefix over a shorter one. Overrides apply after
caching, so changing them never needs a re-run of the check; an unreadable config overrides nothing
(``config.schema`` reports it).
"""

from __future__ import annotations

from collections.abc import Mapping

from finsight_release.envs.platform_config import ConfigError, PlatformConfig, load_platform_config
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.finding import Finding, Severity


def env_platform_config(ctx: ValidationContext) -> PlatformConfig | None:
    """The target environment's config, or None without an env or when it does not load."""
    if not ctx.env:
        return None
    path = ctx.platform / "release_assets" / "config" / f"{ctx.env}.yaml"
    if not path.is_file():
        return None
    try:
        return load_platform_config(path)
    except ConfigError:
        return None


def severity_for(check_id: str, overrides: Mapping[str, str]) -> Severity | None:
    """The overridden severity of ``check_id``, or None when no override names it."""
    if check_id in overrides:
        return Severity(overrides[check_id])
    prefixes = [
        key[:-1] for key in overrides if key.endswith(".*") and check_id.startswith(key[:-1])
    ]
    return Severity(overrides[max(prefixes, key=len) + "*"]) if prefixes else None


def apply_overrides(findings: list[Finding], overrides: Mapping[str, str]) -> list[Finding]:
    """``findings`` with each overridden severity applied."""
    if not overrides:
        return findings
    out = []
    for finding in findings:
        severity = severity_for(finding.check_id, overrides)
        out.append(
            finding if severity is None else finding.model_copy(update={"severity": severity})
        )
    return out
