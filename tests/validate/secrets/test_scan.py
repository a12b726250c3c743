"""secrets.scan: finds credentials with file and line, never prints them, survives bad files, is fast.

Fake credentials are assembled at run time so this file itself never contains one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from finsight_release.release.artifact import ArtifactKind, build_artifact
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.secrets.patterns import find_secrets, redact, shannon_entropy
from finsight_release.validate.secrets.scan import SecretsScanCheck

AWS_KEY_ID = "AKIA" + "QX7TZ3MBN4KD2WPL"
AWS_SECRET = "wJalrXUtnF" + "EMI/K7MDENG/bPxRfiCY" + "Q9ZXk2mLp8"
GITHUB_TOKEN = "ghp_" + "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"
SLACK_HOOK = (
    "https://hooks.slack.com/services/" + "T0ABC1234/B0DEF5678/" + "aZ9yX8wV7uT6sR5qP4oN3mL2"
)
JWT = (
    "eyJhbGciOiJIUzI1NiJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
PASSWORD = "Xk9#mP2vL7" + "qR4tW8zB"
PEM = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"

SECRET_VALUES = [AWS_KEY_ID, AWS_SECRET, GITHUB_TOKEN, SLACK_HOOK, JWT, PASSWORD]


def _platform_with(tmp_path: Path, files: dict[str, str | bytes]) -> tuple[ValidationContext, list]:
    config = tmp_path / "release_assets" / "config"
    config.mkdir(parents=True)
    dags = tmp_path / "release_assets" / "airflow" / "dags"
    dags.mkdir(parents=True)
    for rel, content in files.items():
        path = dags / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (config / "dev.yaml").write_text("environment: dev\nwarehouse_password: aws-sm:dev/snowflake\n")
    artifacts = [
        build_artifact(ArtifactKind.AIRFLOW_DAGS, "airflow/dags", dags, tmp_path),
        build_artifact(ArtifactKind.ENV_CONFIG, "config/dev", config / "dev.yaml", tmp_path),
    ]
    return ValidationContext(platform=tmp_path), artifacts


def _scan(tmp_path: Path, files: dict[str, str | bytes]) -> list[Finding]:
    ctx, artifacts = _platform_with(tmp_path, files)
    return SecretsScanCheck().run(ctx, artifacts)


def test_each_kind_of_credential_is_found_at_its_line_and_masked(tmp_path: Path) -> None:
    text = "\n".join(
        [
            "# settings",
            f"aws_access_key_id = {AWS_KEY_ID}",
            f"aws_secret_access_key = {AWS_SECRET}",
            f'SNOWFLAKE_URL = "snowflake://loader:{PASSWORD}@xy12345.eu-west-1/raw"',
            f'password = "{PASSWORD}"',
            f"GITHUB = '{GITHUB_TOKEN}'",
            f"WEBHOOK = '{SLACK_HOOK}'",
            f"BEARER = '{JWT}'",
            PEM,
        ]
    )
    findings = _scan(tmp_path, {"creds.py": text})
    by_line = {f.line: f.message for f in findings}
    assert all(f.severity is Severity.ERROR and f.check_id == "secrets.scan" for f in findings)
    assert all(f.file == "release_assets/airflow/dags/creds.py" for f in findings)
    assert "AWS access key id" in by_line[2]
    assert "AWS secret access key" in by_line[3]
    assert "connection string" in by_line[4]
    assert "secret assigned" in by_line[5]
    assert "GitHub token" in by_line[6]
    assert "Slack webhook" in by_line[7]
    assert "JSON Web Token" in by_line[8]
    assert "private key" in by_line[9]
    rendered = " ".join(f.model_dump_json() for f in findings)
    for value in SECRET_VALUES:
        assert value not in rendered
    assert "AKIA********" in by_line[2]


@pytest.mark.parametrize(
    "line",
    [
        'password = "changeme"',
        "password: \"{{ env_var('SNOWFLAKE_PASSWORD') }}\"",
        "warehouse_password: aws-sm:prod/snowflake/loader",
        "token: env:SLACK_TOKEN",
        "password=conn.password",
        'token = Variable.get("slack_token")',
        "api_key = ${API_KEY}",
        "postgresql://loader:<password>@db:5432/raw",
        f'password = "{PASSWORD}"  # finsight: allow-secret (test fixture)',
        "secret_name = 'finsight/prod/snowflake'",
    ],
)
def test_references_placeholders_and_code_are_not_secrets(line: str) -> None:
    assert list(find_secrets(line + "\n")) == []


def test_binary_large_and_unreadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files: dict[str, str | bytes] = {
        "image.png": b"\x89PNG\r\n\x1a\n\0\0\0IHDR" + bytes(range(256)),
        "big.csv": "a,b\n" * (1_400_000),
        "locked.py": "x = 1\n",
    }
    ctx, artifacts = _platform_with(tmp_path, files)
    locked = tmp_path / "release_assets/airflow/dags/locked.py"
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == locked:
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    findings = {f.file: f for f in SecretsScanCheck().run(ctx, artifacts)}
    assert findings["release_assets/airflow/dags/image.png"].severity is Severity.INFO
    big = findings["release_assets/airflow/dags/big.csv"]
    assert big.severity is Severity.WARNING and "too large to scan" in big.message
    bad = findings["release_assets/airflow/dags/locked.py"]
    assert (
        bad.severity is Severity.ERROR
        and "unreadable file release_assets/airflow/dags/locked.py" in bad.message
    )


def test_symlinks_escaping_the_tree_are_errors(tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "id_rsa").write_text(PEM)
    platform = tmp_path / "platform"
    platform.mkdir()
    ctx, artifacts = _platform_with(platform, {"ok.py": "x = 1\n"})
    dags = platform / "release_assets/airflow/dags"
    os.symlink(outside / "id_rsa", dags / "key.pem")
    os.symlink(outside, dags / "linked_dir")
    os.symlink(dags / "ok.py", dags / "alias.py")  # inside the tree: fine
    findings = SecretsScanCheck().run(ctx, artifacts)
    assert sorted((f.file, f.severity, f.message) for f in findings) == [
        (
            "release_assets/airflow/dags/key.pem",
            Severity.ERROR,
            "symlink escapes the platform tree",
        ),
        (
            "release_assets/airflow/dags/linked_dir",
            Severity.ERROR,
            "symlink escapes the platform tree",
        ),
    ]


def test_single_file_artifact_is_scanned(tmp_path: Path) -> None:
    ctx, artifacts = _platform_with(tmp_path, {})
    (tmp_path / "release_assets/config/dev.yaml").write_text(f"slack: {SLACK_HOOK}\n")
    findings = SecretsScanCheck().run(ctx, artifacts)
    assert [(f.file, f.line) for f in findings] == [("release_assets/config/dev.yaml", 1)]


def test_redact_masks_values_in_free_text() -> None:
    text = f"failed to connect with {AWS_KEY_ID} and password={PASSWORD} to {SLACK_HOOK}"
    masked = redact(text)
    for value in (AWS_KEY_ID, PASSWORD, SLACK_HOOK):
        assert value not in masked
    assert masked.startswith("failed to connect with AKIA")
    assert (
        redact("nothing to see: password=conn.password") == "nothing to see: password=conn.password"
    )


def test_entropy_separates_random_from_words() -> None:
    assert shannon_entropy(PASSWORD) > 3.5
    assert shannon_entropy("aaaaaaaaaaaa") == 0.0


def test_scanning_thousands_of_files_is_fast(tmp_path: Path) -> None:
    body = (
        "from airflow import DAG\nimport pendulum\n\n"
        "with DAG(dag_id='load_{i}', schedule='@daily', start_date=pendulum.datetime(2024, 1, 1)) as dag:\n"
        "    password = conn.password  # read from the connection, token handled by the hook\n"
        "    sql = 'select * from raw.table_{i} where updated_at > {{{{ ds }}}}'\n"
    ) * 20
    files: dict[str, str | bytes] = {
        f"group_{i % 40}/dag_{i}.py": body.format(i=i) for i in range(3000)
    }
    ctx, artifacts = _platform_with(tmp_path, files)
    start = time.perf_counter()
    findings = SecretsScanCheck().run(ctx, artifacts)
    elapsed = time.perf_counter() - start
    assert findings == []
    assert elapsed < 10, f"3000 files took {elapsed:.1f}s"
