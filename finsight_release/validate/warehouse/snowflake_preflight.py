"""Preflight of an environment's Snowflake warehouse with the deploy identity, changing nothing.

Steps, each a finding when it fails: log in (account, user, role; key pair or password) ->
``ALTER WAREHOUSE .. RESUME IF SUSPENDED`` and ``USE WAREHOUSE`` -> the target database exists ->
``SHOW GRANTS TO ROLE`` (following granted roles, PUBLIC included) holds what dbt needs: USAGE on the
warehouse and database, CREATE SCHEMA on the database, USAGE on each raw database and schema and SELECT
on each raw source table -> each raw source table is visible in its database's INFORMATION_SCHEMA.

No DDL is tried, unlike on DuckDB: Snowflake commits DDL implicitly, so a "rolled back" CREATE SCHEMA
would stay. Errors are mapped by Snowflake error number and message to one-line problems with a fix
hint; an error that means the server did not understand a statement (001003, as from an emulator) makes
that step ``unverified`` rather than failed. Nothing here raises for a connection or statement error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from finsight_release.one_line import one_line
from finsight_release.validate.dbt.sources import SourceTable
from finsight_release.validate.finding import Severity
from finsight_release.validate.warehouse import problem as codes
from finsight_release.validate.warehouse.problem import WarehouseProblem

SYNTAX_ERROR = 1003  # SQL compilation error: syntax error (the statement is not understood)
DOES_NOT_EXIST = 2003  # object does not exist or not authorized
INSUFFICIENT_PRIVILEGES = 3001
LOGIN_TIMEOUT_S = 20
NETWORK_TIMEOUT_S = 60
MAX_ROLES = 50  # bound on the granted-role walk; real hierarchies are a handful deep

_SIMPLE_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")

Connect = Callable[..., Any]


@dataclass(frozen=True)
class SnowflakeIdentity:
    """Who deploys and where. ``credential_ref`` names the secret (never its value) for hints."""

    account: str
    user: str
    role: str
    warehouse: str
    database: str
    password: str | None = field(default=None, repr=False)
    private_key: bytes | None = field(default=None, repr=False)  # DER, PKCS#8
    credential_ref: str = ""

    def connect_args(self) -> dict[str, Any]:
        """Keyword arguments for ``snowflake.connector.connect``."""
        args: dict[str, Any] = {
            "account": self.account,
            "user": self.user,
            "role": self.role,
            "warehouse": self.warehouse,
            "database": self.database,
            "login_timeout": LOGIN_TIMEOUT_S,
            "network_timeout": NETWORK_TIMEOUT_S,
            "client_session_keep_alive": False,
            "application": "finsight_release",
        }
        if self.private_key is not None:
            args["private_key"] = self.private_key
        else:
            args["password"] = self.password
        return args


def private_key_der(pem: str) -> bytes:
    """The DER (PKCS#8) form of an unencrypted PEM private key; raises ValueError if it is not one."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (TypeError, ValueError) as exc:
        # The library's message never includes key material, but keep ours generic anyway.
        raise ValueError("not an unencrypted PEM private key") from exc
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ident(name: str) -> str:
    """A Snowflake identifier: bare when it is a simple one (Snowflake upper-cases it), else quoted."""
    return name if _SIMPLE_IDENTIFIER.match(name) else '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def object_name(name: str) -> str:
    """Comparable form of a (dotted) object name as SHOW GRANTS prints it: quotes dropped, upper case."""
    return ".".join(part.strip().strip('"').upper() for part in name.split("."))


@dataclass(frozen=True)
class GrantNeed:
    """A privilege dbt needs on an object; ``object_type`` as GRANT spells it."""

    privilege: str
    object_type: str
    name: str

    def statement(self, role: str) -> str:
        return f"GRANT {self.privilege} ON {self.object_type} {self.name} TO ROLE {role}"


@dataclass(frozen=True)
class Grant:
    """One row of SHOW GRANTS TO ROLE: privilege, the kind of object and its name."""

    privilege: str
    granted_on: str
    name: str


def _kind(object_type: str) -> str:
    """Grant object kinds compared loosely: a source may be a table or any kind of view."""
    upper = object_type.upper().replace("_", " ")
    return "RELATION" if "TABLE" in upper or "VIEW" in upper else upper


def grant_needs(identity: SnowflakeIdentity, tables: Sequence[SourceTable]) -> list[GrantNeed]:
    """What the deploy role needs for ``dbt build`` into ``identity.database`` reading ``tables``."""
    needs = [
        GrantNeed("USAGE", "WAREHOUSE", object_name(identity.warehouse)),
        GrantNeed("USAGE", "DATABASE", object_name(identity.database)),
        GrantNeed("CREATE SCHEMA", "DATABASE", object_name(identity.database)),
    ]
    for table in tables:
        database, schema = (
            object_name(table.database),
            object_name(f"{table.database}.{table.schema}"),
        )
        needs += [
            GrantNeed("USAGE", "DATABASE", database),
            GrantNeed("USAGE", "SCHEMA", schema),
            GrantNeed(
                "SELECT",
                "TABLE",
                object_name(f"{table.database}.{table.schema}.{table.identifier}"),
            ),
        ]
    return list(dict.fromkeys(needs))  # each once, in order


def missing_grants(needs: Iterable[GrantNeed], grants: Iterable[Grant]) -> list[GrantNeed]:
    """The needs no grant covers; OWNERSHIP of an object covers every privilege on it."""
    held = {(g.privilege.upper(), _kind(g.granted_on), object_name(g.name)) for g in grants}
    return [
        need
        for need in needs
        if (need.privilege, _kind(need.object_type), need.name) not in held
        and ("OWNERSHIP", _kind(need.object_type), need.name) not in held
    ]


class _StepError(Exception):
    """A statement failed; carries the Snowflake error number and the one-line message."""

    def __init__(self, statement: str, exc: BaseException) -> None:
        self.errno = getattr(exc, "errno", None)
        self.detail = one_line(exc) or type(exc).__name__
        super().__init__(f"{statement}: {self.detail}")

    @property
    def unsupported(self) -> bool:
        return self.errno == SYNTAX_ERROR


def _rows(cursor: Any, statement: str) -> list[dict[str, Any]]:
    """Run ``statement``; its rows as dicts keyed by lower-case column name."""
    try:
        cursor.execute(statement)
        names = [str(column[0]).lower() for column in cursor.description or ()]
        return [dict(zip(names, row, strict=False)) for row in cursor.fetchall()]
    except Exception as exc:  # any driver or network error becomes a finding, never a crash
        raise _StepError(statement, exc) from exc


def connect_problem(exc: BaseException, identity: SnowflakeIdentity) -> WarehouseProblem:
    """A failed login as a one-line problem, by what Snowflake said."""
    detail = one_line(exc) or type(exc).__name__
    lowered = detail.lower()
    secret = identity.credential_ref or "the credential secret"
    who = f"user {identity.user} on account {identity.account}"
    if "incorrect username or password" in lowered:
        return WarehouseProblem(
            codes.CONNECT,
            Severity.ERROR,
            f"Snowflake rejected {who}: incorrect username or password ({detail})",
            f"check warehouse.user in the env config and the password in {secret} (rotated elsewhere?)",
        )
    if "jwt" in lowered or getattr(exc, "errno", None) in (390144, 394304):
        return WarehouseProblem(
            codes.CONNECT,
            Severity.ERROR,
            f"Snowflake rejected the key pair of {who} ({detail})",
            f"the RSA_PUBLIC_KEY set on user {identity.user} must match the private key in {secret}",
        )
    if "role" in lowered and ("not granted" in lowered or "does not exist" in lowered):
        return WarehouseProblem(
            codes.GRANTS,
            Severity.ERROR,
            f"role {identity.role} is not granted to user {identity.user} ({detail})",
            f"GRANT ROLE {identity.role} TO USER {identity.user} (or fix warehouse.role in the env config)",
        )
    return WarehouseProblem(
        codes.CONNECT,
        Severity.ERROR,
        f"cannot connect to Snowflake as {who}: {detail}",
        "check warehouse.account (the account identifier, e.g. orgname-account_name) and network access "
        "to *.snowflakecomputing.com",
    )


class _Session:
    """One preflight on an open connection, collecting problems step by step."""

    def __init__(self, cursor: Any, identity: SnowflakeIdentity) -> None:
        self.cursor = cursor
        self.identity = identity
        self.problems: list[WarehouseProblem] = []

    def add(
        self, code: str, severity: Severity, message: str, hint: str | None = None, **kw: Any
    ) -> None:
        self.problems.append(WarehouseProblem(code, severity, message, hint, **kw))

    def unverified(self, what: str, error: _StepError) -> None:
        self.add(
            codes.UNVERIFIED,
            Severity.WARNING,
            f"{what} not verified: the server does not support the statement ({error.detail})",
            "run the preflight against real Snowflake to check this step",
        )

    def warehouse(self) -> bool:
        """Resume and use the warehouse; False when queries cannot run."""
        wh, role = ident(self.identity.warehouse), self.identity.role
        try:
            _rows(self.cursor, f"ALTER WAREHOUSE {wh} RESUME IF SUSPENDED")
        except _StepError as error:
            if error.unsupported:
                self.unverified(f"resuming warehouse {self.identity.warehouse}", error)
            elif error.errno == INSUFFICIENT_PRIVILEGES:
                self.add(
                    codes.GRANTS,
                    Severity.WARNING,
                    f"role {role} cannot resume warehouse {self.identity.warehouse} (no OPERATE): "
                    f"the deploy relies on its auto-resume ({error.detail})",
                    f"GRANT OPERATE ON WAREHOUSE {wh} TO ROLE {role}",
                )
            elif error.errno != DOES_NOT_EXIST:  # a missing warehouse is reported by USE below
                self.add(
                    codes.CONNECT,
                    Severity.ERROR,
                    f"cannot resume warehouse {self.identity.warehouse}: {error.detail}",
                )
        try:
            _rows(self.cursor, f"USE WAREHOUSE {wh}")
        except _StepError as error:
            if error.errno == DOES_NOT_EXIST:
                self.add(
                    codes.MISSING,
                    Severity.ERROR,
                    f"warehouse {self.identity.warehouse} does not exist or role {role} may not use it "
                    f"({error.detail})",
                    f"create it (Terraform stack snowflake) or GRANT USAGE ON WAREHOUSE {wh} TO ROLE {role}; "
                    "or fix warehouse.warehouse in the env config",
                )
            else:
                self.add(
                    codes.CONNECT,
                    Severity.ERROR,
                    f"cannot use warehouse {self.identity.warehouse}: {error.detail}",
                )
            return False
        return True

    def database(self) -> None:
        db = self.identity.database
        try:
            rows = _rows(self.cursor, f"SHOW DATABASES LIKE {literal(db)}")
        except _StepError as error:
            self.add(codes.CONNECT, Severity.ERROR, f"cannot list databases: {error.detail}")
            return
        # LIKE is a pattern (``_`` matches any character): compare the names exactly.
        if not any(object_name(str(row.get("name", ""))) == object_name(db) for row in rows):
            self.add(
                codes.MISSING,
                Severity.ERROR,
                f"database {db} does not exist or is not visible to role {self.identity.role}",
                f"create it (Terraform stack snowflake) or GRANT USAGE ON DATABASE {ident(db)} TO ROLE "
                f"{self.identity.role}; or fix warehouse.database in the env config",
            )

    def role_grants(self) -> list[Grant] | None:
        """Grants of the deploy role and every role it inherits (PUBLIC included); None if unreadable."""
        queue, seen, grants = [self.identity.role, "PUBLIC"], set[str](), list[Grant]()
        while queue and len(seen) < MAX_ROLES:
            role = object_name(queue.pop(0))
            if role in seen:
                continue
            seen.add(role)
            try:
                rows = _rows(self.cursor, f"SHOW GRANTS TO ROLE {ident(role)}")
            except _StepError as error:
                if error.unsupported:
                    self.unverified(f"grants of role {self.identity.role}", error)
                elif role == object_name(self.identity.role):
                    self.add(
                        codes.GRANTS,
                        Severity.ERROR,
                        f"cannot read the grants of role {role}: {error.detail}",
                        f"check that role {role} exists and is granted to user {self.identity.user}",
                    )
                else:
                    continue  # an inherited role we may not inspect: judge by what we could read
                return None
            if rows and not {"privilege", "granted_on", "name"} <= rows[0].keys():
                self.add(
                    codes.UNVERIFIED,
                    Severity.WARNING,
                    f"grants of role {self.identity.role} not verified: SHOW GRANTS returned columns "
                    f"{sorted(rows[0])}, not privilege/granted_on/name",
                    "run the preflight against real Snowflake to check grants",
                )
                return None
            for row in rows:
                grant = Grant(str(row["privilege"]), str(row["granted_on"]), str(row["name"]))
                grants.append(grant)
                if grant.granted_on.upper() == "ROLE" and grant.privilege.upper() == "USAGE":
                    queue.append(grant.name)
        return grants

    def grants(self, tables: Sequence[SourceTable]) -> None:
        grants = self.role_grants()
        if grants is None:
            return
        role = self.identity.role
        missing = missing_grants(grant_needs(self.identity, tables), grants)
        selects = [need for need in missing if need.privilege == "SELECT"]
        for need in missing:
            if need.privilege != "SELECT":
                self.add(
                    codes.GRANTS,
                    Severity.ERROR,
                    f"role {role} lacks {need.privilege} on {need.object_type.lower()} {need.name}",
                    need.statement(role),
                )
        # SELECT gaps are grouped per schema: the fix is one GRANT ... IN SCHEMA, not one per table.
        by_schema: dict[str, list[str]] = {}
        for need in selects:
            by_schema.setdefault(need.name.rsplit(".", 1)[0], []).append(need.name)
        for schema, names in by_schema.items():
            self.add(
                codes.GRANTS,
                Severity.ERROR,
                f"role {role} lacks SELECT on {len(names)} raw table(s) in {schema}: {', '.join(names)}",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO ROLE {role} (and ON FUTURE TABLES)",
            )

    def sources(self, tables: Sequence[SourceTable]) -> None:
        by_database: dict[str, list[SourceTable]] = {}
        for table in tables:
            by_database.setdefault(object_name(table.database), []).append(table)
        for database, group in by_database.items():
            schemas = sorted({object_name(t.schema) for t in group})
            statement = (
                f"SELECT table_schema, table_name FROM {ident(database)}.INFORMATION_SCHEMA.TABLES "
                f"WHERE UPPER(table_schema) IN ({', '.join(literal(s) for s in schemas)})"
            )
            try:
                rows = _rows(self.cursor, statement)
            except _StepError as error:
                severity = Severity.WARNING if error.unsupported else Severity.ERROR
                self.add(
                    codes.SOURCE_MISSING,
                    severity,
                    f"raw database {database} ({len(group)} source tables) does not exist or is not visible "
                    f"to role {self.identity.role}: {error.detail}",
                    f"create it or GRANT USAGE ON DATABASE {ident(database)} TO ROLE {self.identity.role}",
                    table=group[0],
                )
                continue
            visible = {
                (object_name(str(r["table_schema"])), object_name(str(r["table_name"])))
                for r in rows
            }
            for table in group:
                if (object_name(table.schema), object_name(table.identifier)) in visible:
                    continue
                self.add(
                    codes.SOURCE_MISSING,
                    Severity.ERROR,
                    f"raw table {database}.{object_name(table.schema)}.{object_name(table.identifier)} "
                    f"(source('{table.source}', '{table.table}')) does not exist or is not visible to role "
                    f"{self.identity.role}",
                    f"load it (the Airflow load DAG of {table.source}), grant SELECT on it, "
                    f"or fix source('{table.source}', '{table.table}')",
                    table=table,
                )


def snowflake_preflight(
    identity: SnowflakeIdentity, tables: Sequence[SourceTable], connect: Connect | None = None
) -> list[WarehouseProblem]:
    """Preflight the deploy identity against Snowflake; ``connect`` defaults to the connector's.

    Returns the problems found; never raises for a login, network or statement error.
    """
    if connect is None:
        import snowflake.connector  # looked up at call time so fakesnow.patch() applies in tests

        connect = snowflake.connector.connect
    try:
        con = connect(**identity.connect_args())
    except (
        Exception
    ) as exc:  # wrong credentials, unreachable account, DNS: a finding, never a crash
        return [connect_problem(exc, identity)]
    try:
        session = _Session(con.cursor(), identity)
        warehouse_usable = session.warehouse()
        session.database()
        session.grants(tables)
        if warehouse_usable:  # INFORMATION_SCHEMA queries need a running warehouse
            session.sources(tables)
        return session.problems
    except Exception as exc:  # e.g. the session dropped mid-way
        return [connect_problem(exc, identity)]
    finally:
        try:
            con.close()
        except Exception:  # noqa: BLE001 - closing a broken session must not hide the findings
            pass
