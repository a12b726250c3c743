"""warehouse.preflight: a real DuckDB warehouse seeded with the reference raw data, and Snowflake through
fakesnow (plus scripted answers for the statements fakesnow cannot run: SHOW GRANTS, a missing warehouse,
login failures)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import fakesnow
import pytest
import snowflake.connector
from snowflake.connector.errors import DatabaseError, ProgrammingError

from finsight_release.reference.synthetic import generate_warehouse
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.settings import REPO_ROOT, Mode
from finsight_release.validate.cache import ResultCache
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.dbt.sources import DbtTarget, SourceTable, source_tables
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.registry import default_checks
from finsight_release.validate.runner import CheckStatus, run_validation
from finsight_release.validate.warehouse.check import WarehousePreflightCheck
from finsight_release.validate.warehouse.duckdb_preflight import (
    open_read_only_error,
    rolled_back_ddl_error,
)
from finsight_release.validate.warehouse.snowflake_preflight import Grant, GrantNeed, missing_grants

SOURCES_YML = "dbt_project/models/staging/_sources.yml"
PASSWORD_VAR = "FINSIGHT_TEST_SNOWFLAKE_DEPLOY_PASSWORD"
KEY_VAR = "FINSIGHT_TEST_SNOWFLAKE_DEPLOY_KEY"


def artifact(kind: ArtifactKind, name: str, source: str) -> Artifact:
    return Artifact(kind=kind, name=name, source=source, digest="0" * 64, files=())


DBT = artifact(ArtifactKind.DBT_PROJECT, "dbt/project", "dbt_project")


def config_artifact(env: str) -> Artifact:
    return artifact(ArtifactKind.ENV_CONFIG, f"config/{env}", f"release_assets/config/{env}.yaml")


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


def ids(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.check_id, f.severity.value) for f in findings]


# --- DuckDB (local mode) ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 12 reference raw tables in a DuckDB file, as the first local deploy seeds them (built once)."""
    path = tmp_path_factory.mktemp("seeded") / "template.duckdb"
    generate_warehouse(path, scale=1)
    return path


@pytest.fixture
def warehouse(tmp_path: Path, seeded: Path) -> Path:
    """dev's warehouse file, a fresh copy of the seeded one."""
    path = tmp_path / "warehouse" / "dev.duckdb"
    path.parent.mkdir()
    shutil.copy(seeded, path)
    return path


def run_local(
    warehouse_dir: Path, env: str = "dev", artifacts: tuple[Artifact, ...] = (DBT,)
) -> list[Finding]:
    ctx = ValidationContext(platform=REPO_ROOT, env=env, warehouse_dir=warehouse_dir)
    return WarehousePreflightCheck().run(ctx, list(artifacts))


def catalog(path: Path) -> tuple[list[tuple[Any, ...]], ...]:
    with duckdb.connect(str(path), read_only=True) as con:
        return (
            con.execute("select schema_name from duckdb_schemas() order by 1").fetchall(),
            con.execute(
                "select schema_name, table_name, sql from duckdb_tables() order by 1, 2"
            ).fetchall(),
            con.execute(
                "select schema_name, view_name, sql from duckdb_views() where not internal order by 1, 2"
            ).fetchall(),
        )


def test_healthy_warehouse_passes_without_findings(warehouse: Path) -> None:
    assert run_local(warehouse.parent) == []


def test_preflight_changes_nothing_in_the_file(warehouse: Path) -> None:
    before, digest = catalog(warehouse), hashlib.sha256(warehouse.read_bytes()).hexdigest()
    assert run_local(warehouse.parent) == []
    assert catalog(warehouse) == before  # the probe schema, table and view were rolled back
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in warehouse.parent.iterdir()) == [
        "dev.duckdb"
    ]  # no WAL left behind


def test_never_deployed_environment_is_info_and_creates_no_file(tmp_path: Path) -> None:
    findings = run_local(tmp_path)
    assert ids(findings) == [("warehouse.missing", "info")]
    assert "first deploy creates it" in findings[0].message
    assert not (tmp_path / "dev.duckdb").exists()


def test_corrupt_file_is_an_error(warehouse: Path) -> None:
    warehouse.write_bytes(b"not a database " * 1000)
    findings = run_local(warehouse.parent)
    assert ids(findings) == [("warehouse.connect", "error")]
    assert "corrupt or not a DuckDB database" in findings[0].message
    assert findings[0].hint


def test_missing_raw_table_is_an_error_naming_it(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table raw.payments__refunds")
    findings = run_local(warehouse.parent)
    assert ids(findings) == [("warehouse.source_missing", "error")]
    finding = findings[0]
    assert (
        "raw.payments__refunds" in finding.message
        and "source('payments', 'refunds')" in finding.message
    )
    assert finding.artifact == "dbt/project" and finding.file == SOURCES_YML
    lines = (REPO_ROOT / SOURCES_YML).read_text().splitlines()
    assert finding.line is not None and lines[finding.line - 1].strip() == "- name: refunds"


def test_broken_source_view_is_unreadable(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table raw.alerts_copy as select * from raw.risk__alerts")
        con.execute("drop table raw.risk__alerts")
        con.execute("create view raw.risk__alerts as select * from raw.alerts_copy")
        con.execute("drop table raw.alerts_copy")
    findings = run_local(warehouse.parent)
    assert ids(findings) == [("warehouse.source_unreadable", "error")]
    assert "raw.risk__alerts" in findings[0].message


def test_absent_raw_schema_is_left_to_the_seeding_deploy(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop schema raw cascade")
    assert ids(run_local(warehouse.parent)) == [("warehouse.source_missing", "info")]


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable even for root (immutable attribute), or by mode bits for other users."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode
    ):
        pytest.skip(
            "running as root where chattr +i is not permitted: cannot make a file read-only"
        )
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_read_only_file_is_an_error(warehouse: Path) -> None:
    with read_only(warehouse):
        findings = run_local(warehouse.parent)
        assert (
            open_read_only_error(warehouse) is None
        )  # it still opens for reading: only writing fails
    assert ids(findings) == [("warehouse.connect", "error")]
    assert "not writable" in findings[0].message


def test_file_locked_by_another_process_is_an_error(warehouse: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(warehouse)!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        findings = run_local(warehouse.parent)
    finally:
        holder.kill()
        holder.wait()
    assert ids(findings) == [("warehouse.connect", "error")]
    assert "in use by another process" in findings[0].message


def test_runs_only_for_the_target_environment(warehouse: Path) -> None:
    warehouse.write_bytes(b"junk")  # any run on dev would report it
    assert (
        WarehousePreflightCheck().run(
            ValidationContext(platform=REPO_ROOT, warehouse_dir=warehouse.parent), [DBT]
        )
        == []
    )
    assert (
        run_local(warehouse.parent, artifacts=(config_artifact("prod"),)) == []
    )  # another env's config
    assert ids(run_local(warehouse.parent, artifacts=(config_artifact("dev"),))) == [
        ("warehouse.connect", "error")
    ]


def test_registered_last_and_never_cached(warehouse: Path, tmp_path: Path) -> None:
    assert isinstance(default_checks()[-1], WarehousePreflightCheck)
    cache = ResultCache(tmp_path / "cache")
    ctx = ValidationContext(platform=REPO_ROOT, env="dev", warehouse_dir=warehouse.parent)
    first = run_validation(ctx, [DBT], [WarehousePreflightCheck()], cache=cache)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table raw.risk__alerts")  # the warehouse changed, no artifact did
    second = run_validation(ctx, [DBT], [WarehousePreflightCheck()], cache=cache)
    assert first.passed and first.results[0].status is CheckStatus.RAN
    assert not second.passed and second.results[0].status is CheckStatus.RAN


def test_doctor_probe_functions_share_the_rolled_back_ddl(warehouse: Path) -> None:
    before = catalog(warehouse)
    assert open_read_only_error(warehouse) is None
    assert rolled_back_ddl_error(warehouse) is None
    assert catalog(warehouse) == before
    warehouse.write_bytes(b"junk" * 100)
    assert "not a valid DuckDB database" in (open_read_only_error(warehouse) or "")
    assert "not a valid DuckDB database" in (rolled_back_ddl_error(warehouse) or "")


# --- Snowflake (AWS mode) ---------------------------------------------------------------------------

PROD_TABLES = source_tables(
    REPO_ROOT / "dbt_project",
    DbtTarget("snowflake", "ANALYTICS_PROD"),
    {"FINSIGHT_RAW_DATABASE": "RAW"},
)
GRANT_COLUMNS = (
    "created_on",
    "privilege",
    "granted_on",
    "name",
    "granted_to",
    "grantee_name",
    "grant_option",
    "granted_by",
)


def snowflake_platform(
    root: Path, credential: str = f"password_secret: env:{PASSWORD_VAR}"
) -> Path:
    """A platform tree with the reference dbt sources and prod's real config, logging in with ``credential``."""
    (root / "dbt_project/models/staging").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "dbt_project/dbt_project.yml", root / "dbt_project/dbt_project.yml")
    shutil.copy(REPO_ROOT / SOURCES_YML, root / SOURCES_YML)
    config = (REPO_ROOT / "release_assets/config/prod.yaml").read_text()
    assert "private_key_secret: aws-sm:finsight/prod/snowflake_deploy_key" in config
    (root / "release_assets/config").mkdir(parents=True)
    (root / "release_assets/config/prod.yaml").write_text(
        config.replace("private_key_secret: aws-sm:finsight/prod/snowflake_deploy_key", credential)
    )
    return root


def healthy_grants() -> dict[str, list[tuple[str, str, str]]]:
    """DEPLOYER owns its database rights and inherits raw read access from RAW_READER."""
    reader = [("USAGE", "DATABASE", "RAW")]
    for table in PROD_TABLES:
        reader += [
            ("USAGE", "SCHEMA", f"RAW.{table.schema.upper()}"),
            ("SELECT", "TABLE", f"RAW.{table.schema.upper()}.{table.identifier.upper()}"),
        ]
    return {
        "DEPLOYER": [
            ("USAGE", "WAREHOUSE", "TRANSFORM_PROD_WH"),
            ("USAGE", "DATABASE", "ANALYTICS_PROD"),
            ("CREATE SCHEMA", "DATABASE", "ANALYTICS_PROD"),
            ("USAGE", "ROLE", "RAW_READER"),
        ],
        "RAW_READER": reader,
        "PUBLIC": [],
    }


class ScriptedCursor:
    """A fakesnow cursor; SHOW GRANTS TO ROLE is answered from ``grants`` (fakesnow cannot parse it), and a
    statement starting with a key of ``fail`` raises that error (as real Snowflake would)."""

    def __init__(
        self,
        real: Any,
        grants: dict[str, list[tuple[str, str, str]]] | None,
        fail: dict[str, Exception],
    ) -> None:
        self.real, self.grants, self.fail = real, grants, fail
        self.scripted: list[tuple[Any, ...]] | None = None

    def execute(self, statement: str) -> ScriptedCursor:
        self.scripted = None
        for prefix, error in self.fail.items():
            if statement.upper().startswith(prefix):
                raise error
        if self.grants is not None and statement.upper().startswith("SHOW GRANTS TO ROLE "):
            role = statement.split()[-1].strip('"').upper()
            if role not in self.grants:
                raise ProgrammingError(
                    msg=f"Role '{role}' does not exist or not authorized.", errno=2003
                )
            self.scripted = [
                (None, p, on, name, "ROLE", role, "false", "SYSADMIN")
                for p, on, name in self.grants[role]
            ]
            return self
        self.real.execute(statement)
        return self

    @property
    def description(self) -> Any:
        return [(c,) for c in GRANT_COLUMNS] if self.scripted is not None else self.real.description

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.scripted if self.scripted is not None else self.real.fetchall()


class ScriptedConnection:
    def __init__(
        self,
        real: Any,
        grants: dict[str, list[tuple[str, str, str]]] | None,
        fail: dict[str, Exception],
    ) -> None:
        self.real, self.grants, self.fail = real, grants, fail

    def cursor(self) -> ScriptedCursor:
        return ScriptedCursor(self.real.cursor(), self.grants, self.fail)

    def close(self) -> None:
        self.real.close()


def scripted(
    grants: dict[str, list[tuple[str, str, str]]] | None = None,
    fail: dict[str, Exception] | None = None,
) -> Any:
    """A connect function: fakesnow (patched in) behind the scripted statements."""

    def connect(**kwargs: Any) -> ScriptedConnection:
        return ScriptedConnection(snowflake.connector.connect(**kwargs), grants, fail or {})

    return connect


def seed_snowflake(skip_tables: tuple[str, ...] = (), skip_databases: tuple[str, ...] = ()) -> None:
    """Create prod's database and the raw source tables in the patched-in fakesnow."""
    con = snowflake.connector.connect(account="seed", user="seed", password="seed")
    cur = con.cursor()
    for database in {"ANALYTICS_PROD", "RAW"} - set(skip_databases):
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    if "RAW" not in skip_databases:
        for table in PROD_TABLES:
            name = f"RAW.{table.schema}.{table.identifier}".upper()
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS RAW.{table.schema}")
            if name not in skip_tables:
                cur.execute(f"CREATE TABLE {name} (id INTEGER)")
    con.close()


@pytest.fixture
def sf_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(PASSWORD_VAR, "set-for-the-test")
    return snowflake_platform(tmp_path / "platform")


def run_aws(platform: Path, connect: Any = None) -> list[Finding]:
    ctx = ValidationContext(
        platform=platform, env="prod", mode=Mode.AWS, warehouse_dir=platform / "no-duckdb"
    )
    return WarehousePreflightCheck(connect=connect).run(ctx, [DBT, config_artifact("prod")])


# fakesnow runs these two as no-ops: it cannot parse them, and real Snowflake answers them for the test.
NOPS = ["ALTER WAREHOUSE .* RESUME IF SUSPENDED"]


def test_snowflake_healthy_passes(sf_platform: Path) -> None:
    with fakesnow.patch(create_database_on_connect=False, nop_regexes=NOPS):
        seed_snowflake()
        assert run_aws(sf_platform, scripted(healthy_grants())) == []


def test_snowflake_on_plain_fakesnow_reports_unverified_steps_not_errors(sf_platform: Path) -> None:
    with fakesnow.patch(create_database_on_connect=False):
        seed_snowflake()
        findings = run_aws(sf_platform)
    assert ids(findings) == [("warehouse.unverified", "warning")] * 2
    assert "resuming warehouse TRANSFORM_PROD_WH" in findings[0].message
    assert "grants of role DEPLOYER" in findings[1].message


def test_snowflake_missing_database_is_an_error(sf_platform: Path) -> None:
    with fakesnow.patch(create_database_on_connect=False, nop_regexes=NOPS):
        seed_snowflake(skip_databases=("ANALYTICS_PROD",))
        findings = run_aws(sf_platform, scripted(healthy_grants()))
    assert ids(findings) == [("warehouse.missing", "error")]
    assert "database ANALYTICS_PROD does not exist" in findings[0].message
    assert findings[0].file == "release_assets/config/prod.yaml"


def test_snowflake_missing_raw_table_is_an_error_naming_it(sf_platform: Path) -> None:
    with fakesnow.patch(create_database_on_connect=False, nop_regexes=NOPS):
        seed_snowflake(skip_tables=("RAW.PAYMENTS.REFUNDS",))
        findings = run_aws(sf_platform, scripted(healthy_grants()))
    assert ids(findings) == [("warehouse.source_missing", "error")]
    assert "RAW.PAYMENTS.REFUNDS" in findings[0].message and findings[0].file == SOURCES_YML


def test_snowflake_missing_raw_database_is_one_error(sf_platform: Path) -> None:
    with fakesnow.patch(create_database_on_connect=False, nop_regexes=NOPS):
        seed_snowflake(skip_databases=("RAW",))
        findings = run_aws(sf_platform, scripted(healthy_grants()))
    assert ids(findings) == [("warehouse.source_missing", "error")]
    assert "raw database RAW (12 source tables)" in findings[0].message


def test_snowflake_missing_grants_name_privilege_and_object(sf_platform: Path) -> None:
    grants = healthy_grants()
    grants["DEPLOYER"].remove(("CREATE SCHEMA", "DATABASE", "ANALYTICS_PROD"))
    grants["RAW_READER"].remove(("SELECT", "TABLE", "RAW.PAYMENTS.REFUNDS"))
    with fakesnow.patch(create_database_on_connect=False, nop_regexes=NOPS):
        seed_snowflake()
        findings = run_aws(sf_platform, scripted(grants))
    assert ids(findings) == [("warehouse.grants", "error")] * 2
    assert "lacks CREATE SCHEMA on database ANALYTICS_PROD" in findings[0].message
    assert findings[0].hint == "GRANT CREATE SCHEMA ON DATABASE ANALYTICS_PROD TO ROLE DEPLOYER"
    assert (
        "lacks SELECT on 1 raw table(s) in RAW.PAYMENTS: RAW.PAYMENTS.REFUNDS"
        in findings[1].message
    )
    assert "GRANT SELECT ON ALL TABLES IN SCHEMA RAW.PAYMENTS TO ROLE DEPLOYER" in (
        findings[1].hint or ""
    )


def test_snowflake_missing_warehouse_is_an_error(sf_platform: Path) -> None:
    missing = ProgrammingError(
        msg="Warehouse 'TRANSFORM_PROD_WH' does not exist or not authorized.", errno=2003
    )
    fail = {"ALTER WAREHOUSE": missing, "USE WAREHOUSE": missing}
    with fakesnow.patch(create_database_on_connect=False):
        seed_snowflake()
        findings = run_aws(sf_platform, scripted(healthy_grants(), fail))
    assert ids(findings) == [
        ("warehouse.missing", "error")
    ]  # reported once; source listing needs a warehouse
    assert "warehouse TRANSFORM_PROD_WH does not exist" in findings[0].message


def test_snowflake_bad_credentials_are_one_clear_error(sf_platform: Path) -> None:
    def connect(**_kwargs: Any) -> Any:
        raise DatabaseError(
            msg="Failed to connect to DB: finsight-prod.snowflakecomputing.com:443. Incorrect username or password "
            "was specified.",
            errno=250001,
            sqlstate="08001",
        )

    findings = run_aws(sf_platform, connect)
    assert ids(findings) == [("warehouse.connect", "error")]
    assert (
        "incorrect username or password" in findings[0].message
        and "SVC_FINSIGHT_DEPLOY_PROD" in findings[0].message
    )
    assert f"env:{PASSWORD_VAR}" in (findings[0].hint or "")


@pytest.mark.parametrize("error", [OSError("Name or service not known"), RuntimeError("boom")])
def test_snowflake_connection_errors_never_crash(sf_platform: Path, error: Exception) -> None:
    def connect(**_kwargs: Any) -> Any:
        raise error

    findings = run_aws(sf_platform, connect)
    assert ids(findings) == [("warehouse.connect", "error")]
    assert str(error) in findings[0].message


def test_snowflake_unresolved_secret_is_an_error_without_connecting(
    sf_platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_VAR)

    def connect(**_kwargs: Any) -> Any:
        raise AssertionError("must not try to log in without a credential")

    findings = run_aws(sf_platform, connect)
    assert ids(findings) == [("warehouse.connect", "error")]
    assert f"env:{PASSWORD_VAR} does not resolve" in findings[0].message


def test_snowflake_key_pair_is_passed_as_der(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    monkeypatch.setenv(KEY_VAR, pem.decode())
    platform = snowflake_platform(tmp_path / "platform", f"private_key_secret: env:{KEY_VAR}")
    seen: dict[str, Any] = {}

    def connect(**kwargs: Any) -> Any:
        seen.update(kwargs)
        raise DatabaseError(msg="JWT token is invalid.", errno=390144)

    findings = run_aws(platform, connect)
    assert ids(findings) == [("warehouse.connect", "error")] and "key pair" in findings[0].message
    assert (
        "password" not in seen
        and seen["role"] == "DEPLOYER"
        and seen["warehouse"] == "TRANSFORM_PROD_WH"
    )
    assert (
        serialization.load_der_private_key(seen["private_key"], None).private_numbers()
        == key.private_numbers()
    )
    assert pem.decode() not in " ".join(str(f) for f in findings)

    monkeypatch.setenv(
        KEY_VAR, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    )
    findings = run_aws(platform, connect)
    assert (
        ids(findings) == [("warehouse.connect", "error")]
        and "not an unencrypted PEM private key" in findings[0].message
    )


def test_local_mode_checks_duckdb_even_for_a_snowflake_config(
    sf_platform: Path, seeded: Path
) -> None:
    warehouse_dir = sf_platform / "warehouse"
    warehouse_dir.mkdir()
    shutil.copy(seeded, warehouse_dir / "prod.duckdb")

    def connect(**_kwargs: Any) -> Any:
        raise AssertionError("local mode deploys into DuckDB: no Snowflake login")

    ctx = ValidationContext(platform=sf_platform, env="prod", warehouse_dir=warehouse_dir)
    assert WarehousePreflightCheck(connect=connect).run(ctx, [config_artifact("prod")]) == []


def test_grant_comparison_follows_ownership_and_quoting() -> None:
    needs = [
        GrantNeed("SELECT", "TABLE", "RAW.RISK.ALERTS"),
        GrantNeed("USAGE", "SCHEMA", "RAW.RISK"),
    ]
    assert (
        missing_grants(
            needs,
            [
                Grant("OWNERSHIP", "VIEW", '"RAW"."RISK"."ALERTS"'),
                Grant("USAGE", "SCHEMA", "raw.risk"),
            ],
        )
        == []
    )
    assert missing_grants(needs, [Grant("SELECT", "TABLE", "RAW.RISK.ALERTS_V2")]) == needs
    table = SourceTable("risk", "alerts", "RAW", "risk", "alerts", "models/x.yml")
    assert table.dbt_name == "risk.alerts"
