"""config.schema and config.secret_ref on the repo's real env configs, secrets on moto's server."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest

from finsight_release.envs.platform_config import load_platform_config
from finsight_release.release.artifact import Artifact, ArtifactKind, build_artifact
from finsight_release.settings import REPO_ROOT, Mode
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.config.check import ConfigSchemaCheck, SecretRefCheck, secret_refs
from finsight_release.validate.finding import Severity

REPO_CONFIG = REPO_ROOT / "release_assets" / "config" / "dev.yaml"


def _config_artifact(platform: Path, env: str, text: str | None = None) -> Artifact:
    target = platform / "release_assets" / "config" / f"{env}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    if text is None:
        shutil.copy(REPO_CONFIG, target)
    else:
        target.write_text(text)
    return build_artifact(ArtifactKind.ENV_CONFIG, f"config/{env}", target, platform)


def test_the_repo_config_is_valid(tmp_path: Path) -> None:
    artifact = _config_artifact(tmp_path, "dev")
    assert ConfigSchemaCheck().run(ValidationContext(platform=tmp_path), [artifact]) == []


@pytest.mark.parametrize(
    "text", ["{{{ not yaml", "- just\n- a list\n", "environment: 42\nunknown_key: true\n"]
)
def test_invalid_config_is_one_error_naming_the_file(tmp_path: Path, text: str) -> None:
    artifact = _config_artifact(tmp_path, "dev", text)
    findings = ConfigSchemaCheck().run(ValidationContext(platform=tmp_path), [artifact])
    assert [(f.check_id, f.severity, f.file) for f in findings] == [
        ("config.schema", Severity.ERROR, "release_assets/config/dev.yaml")
    ]
    assert "\n" not in findings[0].message
    # The secret check leaves an invalid config to config.schema instead of crashing.
    assert SecretRefCheck().run(ValidationContext(platform=tmp_path), [artifact]) == []


def test_every_secret_ref_must_resolve_in_the_target_env(
    tmp_path: Path, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = _config_artifact(tmp_path, "dev")
    refs = list(secret_refs(load_platform_config(tmp_path / artifact.source)))
    assert refs, "the dev config should reference at least one secret"
    for ref in refs:
        if ref.startswith("env:"):
            monkeypatch.delenv(ref.removeprefix("env:"), raising=False)
    ctx = ValidationContext(platform=tmp_path, env="dev", mode=Mode.AWS)
    missing = SecretRefCheck().run(ctx, [artifact])
    assert len(missing) == len(refs) and all(f.severity is Severity.ERROR for f in missing)
    for ref in refs:
        assert any(f"secret {ref} does not resolve in dev" in f.message for f in missing)
    # Locally the unset env: references are the embedded default, reported once as such; a missing
    # aws-sm: secret is still an error.
    local = SecretRefCheck().run(ValidationContext(platform=tmp_path, env="dev"), [artifact])
    env_refs = [r for r in refs if r.startswith("env:")]
    (info,) = [f for f in local if f.severity is Severity.INFO]
    assert (
        f"{len(env_refs)} env: references of dev are unset" in info.message
        and "local mode" in info.message
    )
    assert len([f for f in local if f.severity is Severity.ERROR]) == len(refs) - len(env_refs)
    client = boto3.client("secretsmanager")
    for ref in refs:
        if ref.startswith("aws-sm:"):
            try:
                client.create_secret(Name=ref.removeprefix("aws-sm:"), SecretString="unused")
            except client.exceptions.ResourceExistsException:
                pass  # the moto server is shared by the session
        else:
            monkeypatch.setenv(ref.removeprefix("env:"), "set-for-test")
    assert SecretRefCheck().run(ctx, [artifact]) == []
    # Another target environment does not resolve dev's secrets.
    assert SecretRefCheck().run(ValidationContext(platform=tmp_path, env="prod"), [artifact]) == []
