from __future__ import annotations

from pathlib import Path

import pytest

from finsight_release.envs.platform_config import ConfigError, SecretRef, load_platform_config
from finsight_release.settings import REPO_ROOT

PROD = REPO_ROOT / "release_assets" / "config" / "prod.yaml"


def test_secret_ref_parsing() -> None:
    ref = SecretRef.parse("aws-sm:finsight/prod/snowflake_airflow")
    assert (ref.scheme, ref.name, str(ref)) == (
        "aws-sm",
        "finsight/prod/snowflake_airflow",
        str(ref),
    )
    with pytest.raises(ValueError, match="not a secret reference"):
        SecretRef.parse("hunter2-the-actual-password")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("type: postgres", "type: oracle", 1), "connections.postgres_"),
        (lambda t: t.replace("secret: aws-sm:", "secret: ", 1), "not a secret reference"),
        (lambda t: t + "unexpected_key: 1\n", "unexpected_key"),
        (lambda t: t.replace('start: "01:00"', 'start: "25:00"'), "promotion_window.start"),
        (lambda t: "environment: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, edit, message: str) -> None:  # noqa: ANN001
    path = tmp_path / "prod.yaml"
    path.write_text(edit(PROD.read_text()))
    with pytest.raises(ConfigError, match=message) as info:
        load_platform_config(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
