"""``config.schema`` and ``config.secret_ref``: each environment config is valid and its secrets exist.

``config.schema`` validates ``release_assets/config/<env>.yaml`` with the platform's pydantic schema
(:func:`finsight_release.envs.platform_config.load_platform_config`). ``config.secret_ref`` resolves
every secret reference of a config in *its* environment (``aws-sm:`` in Secrets Manager, ``env:`` in
the process environment); with ``ctx.env`` set, only that environment's config is resolved, since
another environment's secrets are not reachable from here. Secret state lives outside the release,
so ``config.secret_ref`` is never cached.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from finsight_release.envs.platform_config import ConfigError, PlatformConfig, load_platform_config
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.settings import Mode
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.secrets.refs import SecretResolver


def config_env(artifact: Artifact) -> str:
    """The environment an env_config artifact belongs to ("config/prod" -> "prod")."""
    return artifact.name.rsplit("/", 1)[-1]


def secret_refs(config: PlatformConfig) -> Iterator[str]:
    """The config's secret references as ``aws-sm:<name>`` / ``env:<VAR>`` strings, each once."""
    seen: set[str] = set()
    for ref in config.iter_secret_refs():
        text = str(ref)
        if text not in seen:
            seen.add(text)
            yield text


class ConfigSchemaCheck(CheckDefaults):
    """Each env config validates against the platform config schema."""

    id = "config.schema"
    kinds = frozenset({ArtifactKind.ENV_CONFIG})

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            try:
                load_platform_config(ctx.platform / artifact.source)
            except ConfigError as exc:
                findings.append(
                    Finding(
                        check_id=self.id,
                        severity=Severity.ERROR,
                        artifact=artifact.name,
                        file=artifact.source,
                        message=str(exc),
                        hint="fix the config to match the schema in finsight_release/envs/platform_config.py",
                    )
                )
        return findings


def aws_checkable(mode: Mode) -> bool:
    """Secrets Manager is asked only in AWS mode or at an explicit endpoint (never blindly from a laptop)."""
    return mode is Mode.AWS or bool(os.environ.get("AWS_ENDPOINT_URL"))


class SecretRefCheck(CheckDefaults):
    """Every secret reference of an env config resolves in that environment."""

    id = "config.secret_ref"
    kinds = frozenset({ArtifactKind.ENV_CONFIG})
    cacheable = False  # a secret can be created or deleted without any artifact changing

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            env = config_env(artifact)
            if ctx.env is not None and env != ctx.env:
                continue
            findings.extend(
                self.check_config(ctx.platform / artifact.source, artifact, env, ctx.mode)
            )
        return findings

    def check_config(
        self, path: Path, artifact: Artifact, env: str, mode: Mode = Mode.LOCAL
    ) -> list[Finding]:
        """Findings for one config file; an invalid config is left to ``config.schema``.

        In local mode an unset ``env:`` reference is the local default (one INFO finding lists them);
        in AWS mode it is an error like any reference that does not resolve.
        """
        try:
            config = load_platform_config(path)
        except ConfigError:
            return []
        resolver = SecretResolver(region=config.aws.region, local_defaults=mode is Mode.LOCAL)
        findings: list[Finding] = []
        local_defaults: list[str] = []
        aws_reachable = True
        for ref in secret_refs(config):
            if ref.startswith("aws-sm:") and not aws_reachable:
                continue  # one "unreachable" finding per environment is enough
            if ref.startswith("aws-sm:") and not aws_checkable(mode):
                aws_reachable = False
                findings.append(
                    Finding.on(
                        artifact,
                        self.id,
                        f"aws-sm references of {env} not checked: no AWS access in local mode",
                        severity=Severity.WARNING,
                        file=artifact.source,
                        hint="run with FINSIGHT_MODE=aws (or AWS_ENDPOINT_URL) where Secrets Manager is reachable",
                    )
                )
                continue
            resolution = resolver.resolve(ref)
            if resolution.local_default:
                local_defaults.append(ref)
            if resolution.ok:
                continue
            aws_reachable = aws_reachable and resolution.reachable
            findings.append(
                Finding.on(
                    artifact,
                    self.id,
                    f"secret {ref} does not resolve in {env}: {resolution.detail}",
                    file=artifact.source,
                    hint=(
                        f"create it in {env}'s Secrets Manager"
                        if ref.startswith("aws-sm:")
                        else "set the environment variable where the release is validated and deployed"
                    ),
                )
            )
        if local_defaults:
            findings.append(
                Finding.on(
                    artifact,
                    self.id,
                    f"{len(local_defaults)} env: references of {env} are unset, so local mode uses its "
                    f"embedded defaults for them ({', '.join(local_defaults)}); in AWS mode each must resolve",
                    severity=Severity.INFO,
                    file=artifact.source,
                    hint="export the variables to use real connections locally",
                )
            )
        return findings
