"""The Snowflake deploy identity of an environment, from its config and its credential secret.

One reading for the warehouse preflight and the Snowflake deploy target: the config's account, user,
role, warehouse and database, with the private key (PKCS#8 PEM, converted to DER) or password read
from the secret its reference names. Each way it cannot be built is a one-line
:class:`WarehouseProblem` with a fix hint; the secret's value never appears in one.
"""

from __future__ import annotations

from finsight_release.envs.platform_config import PlatformConfig
from finsight_release.validate.finding import Severity
from finsight_release.validate.secrets.refs import SecretResolver
from finsight_release.validate.warehouse import problem as codes
from finsight_release.validate.warehouse.problem import WarehouseProblem
from finsight_release.validate.warehouse.snowflake_preflight import (
    SnowflakeIdentity,
    private_key_der,
)


def deploy_identity(
    config: PlatformConfig, resolver: SecretResolver | None = None
) -> SnowflakeIdentity | WarehouseProblem:
    """The deploy identity of ``config``'s Snowflake warehouse, or the problem that prevents it."""
    settings = config.warehouse
    absent = [
        name for name in ("account", "user", "role", "warehouse") if not getattr(settings, name)
    ]
    ref = settings.private_key_secret or settings.password_secret
    if absent or ref is None:
        fields = [f"warehouse.{name}" for name in absent] + (
            [] if ref else ["warehouse.private_key_secret"]
        )
        return WarehouseProblem(
            codes.CONFIG,
            Severity.ERROR,
            f"the snowflake warehouse of {config.environment} lacks {', '.join(fields)}",
            "set them in the env config (the deploy identity: account, user, role, warehouse, and a "
            "private_key_secret or password_secret reference)",
        )
    secret = (resolver or SecretResolver(region=config.aws.region)).read(str(ref))
    if not secret.ok or not secret.value:
        return WarehouseProblem(
            codes.CONNECT,
            Severity.ERROR,
            f"cannot log in to Snowflake as {settings.user}: credential {ref} does not resolve "
            f"({secret.detail})",
            f"create {ref} in {config.environment}'s Secrets Manager (or set the variable)",
        )
    private_key = None
    if settings.private_key_secret is not None:
        try:
            private_key = private_key_der(secret.value)
        except ValueError as exc:
            return WarehouseProblem(
                codes.CONNECT,
                Severity.ERROR,
                f"cannot log in to Snowflake as {settings.user}: {ref} is {exc}",
                f"store the user's PKCS#8 PEM private key (unencrypted) in {ref}",
            )
    return SnowflakeIdentity(
        account=str(settings.account),
        user=str(settings.user),
        role=str(settings.role),
        warehouse=str(settings.warehouse),
        database=settings.database,
        password=None if private_key else secret.value,
        private_key=private_key,
        credential_ref=str(ref),
    )


def source_vars(config: PlatformConfig) -> dict[str, str]:
    """The env config's variables as the dbt sources read them (``finsight_raw_database`` is
    ``env_var('FINSIGHT_RAW_DATABASE')``): the deploy's environment, upper-cased names."""
    return {name.upper(): value for name, value in config.variables.items()}
