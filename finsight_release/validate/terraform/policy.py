"""Policy rules over a parsed plan: stateful deletes/replacements, IAM wildcards, public S3.

Each rule returns :class:`Violation` s; :mod:`finsight_release.validate.terraform.checks` turns them into
findings. A violation on a resource the plan creates, updates or replaces is introduced by this
release (ERROR); on an unchanged (no-op) resource it already exists (WARNING: reported, not blocking,
so one old policy does not block every release until it is fixed). Deleted resources are only
judged by the stateful rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from finsight_release.validate.terraform.plan import ResourceChange

# Resources whose delete or replacement destroys data (or keys that decrypt data).
STATEFUL_TYPES = frozenset(
    {
        "aws_s3_bucket",
        "aws_db_instance",
        "aws_rds_cluster",
        "aws_rds_cluster_instance",
        "aws_dynamodb_table",
        "aws_kms_key",
        "aws_mwaa_environment",
        "aws_efs_file_system",
        "aws_elasticache_cluster",
        "aws_elasticache_replication_group",
        "aws_elasticache_serverless_cache",
        "aws_msk_cluster",
        "aws_msk_serverless_cluster",
        "aws_redshift_cluster",
        "aws_redshiftserverless_namespace",
        "aws_docdb_cluster",
        "aws_neptune_cluster",
        "aws_opensearch_domain",
        "aws_elasticsearch_domain",
        "aws_ebs_volume",
        "aws_kinesis_stream",
        "aws_sqs_queue",
        "aws_ecr_repository",
        "aws_glue_catalog_database",
        "aws_glue_catalog_table",
        "aws_backup_vault",
        # A replaced secret loses every stored version: consumers break until it is re-seeded.
        "aws_secretsmanager_secret",
        "snowflake_database",
        "snowflake_schema",
        "snowflake_table",
        "snowflake_stage",
    }
)

IAM_POLICY_TYPES = frozenset(
    {
        "aws_iam_policy",
        "aws_iam_role_policy",
        "aws_iam_user_policy",
        "aws_iam_group_policy",
        "aws_iam_role",
        "aws_iam_policy_document",
    }
)
BUCKET_POLICY_TYPES = frozenset({"aws_s3_bucket_policy", "aws_s3_bucket"})
PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_GRANTEE_URIS = (
    "acs.amazonaws.com/groups/global/AllUsers",
    "acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
PUBLIC_ACCESS_BLOCK_TYPES = frozenset(
    {"aws_s3_bucket_public_access_block", "aws_s3_account_public_access_block"}
)
PUBLIC_ACCESS_BLOCK_FLAGS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)


@dataclass(frozen=True)
class Violation:
    """A rule broken by one resource change. ``introduced`` is False for unchanged resources."""

    rule: str
    address: str
    message: str
    introduced: bool


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(change: ResourceChange) -> Iterator[dict[str, Any]]:
    """Policy JSON documents in a resource's planned values (policy, json, inline_policy[].policy)."""
    after = change.after if isinstance(change.after, dict) else {}
    texts = [after.get("policy"), after.get("json")]
    texts += [p.get("policy") for p in _as_list(after.get("inline_policy")) if isinstance(p, dict)]
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            continue
        try:
            document = json.loads(text)
        except ValueError:
            continue
        if isinstance(document, dict):
            yield document


def statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The statements of a policy document (a single statement object or a list)."""
    yield from (s for s in _as_list(document.get("Statement")) if isinstance(s, dict))


def is_wildcard_action(action: Any) -> bool:
    return isinstance(action, str) and (action == "*" or action.endswith(":*"))


def stateful_destruction(change: ResourceChange) -> Violation | None:
    """A delete or replacement of a stateful resource."""
    if change.mode == "data" or change.type not in STATEFUL_TYPES or not change.is_destructive:
        return None
    verb = "replaced (destroyed and re-created empty)" if change.is_replace else "deleted"
    reason = f"; terraform's reason: {change.action_reason}" if change.action_reason else ""
    return Violation(
        "terraform.stateful_replace",
        change.address,
        f"stateful resource {change.address} ({change.type}) would be {verb}{reason}",
        introduced=True,
    )


def iam_wildcards(change: ResourceChange) -> Iterator[Violation]:
    """Allow statements granting ``*`` or ``service:*`` actions on Resource ``*``."""
    if change.type not in IAM_POLICY_TYPES or (change.is_destructive and not change.is_replace):
        return
    for document in policy_documents(change):
        for statement in statements(document):
            if statement.get("Effect", "Allow") != "Allow" or "*" not in _as_list(
                statement.get("Resource")
            ):
                continue
            wild = sorted({a for a in _as_list(statement.get("Action")) if is_wildcard_action(a)})
            if wild:
                yield Violation(
                    "terraform.iam_wildcard",
                    change.address,
                    f'IAM policy on {change.address} allows {", ".join(wild)} on Resource "*"',
                    introduced=not change.is_noop,
                )


def _is_public_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _as_list(value) for value in principal.values())
    return False


def public_s3(change: ResourceChange) -> Iterator[Violation]:
    """Public ACLs or grants, disabled public access blocks, and bucket policies open to Principal ``*``."""
    after = change.after if isinstance(change.after, dict) else None
    if after is None or change.mode == "data" or (change.is_destructive and not change.is_replace):
        return
    introduced = not change.is_noop
    if change.type in {"aws_s3_bucket", "aws_s3_bucket_acl"} and after.get("acl") in PUBLIC_ACLS:
        yield Violation(
            "terraform.public_s3",
            change.address,
            f"{change.address} sets acl {after['acl']}",
            introduced,
        )
    if change.type in {"aws_s3_bucket", "aws_s3_bucket_acl"} and any(
        uri in json.dumps(after) for uri in PUBLIC_GRANTEE_URIS
    ):
        yield Violation(
            "terraform.public_s3",
            change.address,
            f"{change.address} grants access to AllUsers/AuthenticatedUsers",
            introduced,
        )
    if change.type in PUBLIC_ACCESS_BLOCK_TYPES:
        disabled = [flag for flag in PUBLIC_ACCESS_BLOCK_FLAGS if after.get(flag) is False]
        if disabled:
            yield Violation(
                "terraform.public_s3",
                change.address,
                f"public access block disabled on {change.address} ({', '.join(f'{f}=false' for f in disabled)})",
                introduced,
            )
    if change.type in BUCKET_POLICY_TYPES:
        for document in policy_documents(change):
            for statement in statements(document):
                # A Condition (source VPC, org id, TLS) narrows "*" to callers that are not the public.
                if (
                    statement.get("Effect") == "Allow"
                    and _is_public_principal(statement.get("Principal"))
                    and not statement.get("Condition")
                ):
                    yield Violation(
                        "terraform.public_s3",
                        change.address,
                        f'bucket policy on {change.address} allows Principal "*" without a Condition',
                        introduced,
                    )


def violations(change: ResourceChange) -> list[Violation]:
    """Every rule broken by one resource change."""
    found = [v for v in [stateful_destruction(change)] if v is not None]
    found.extend(iam_wildcards(change))
    found.extend(public_s3(change))
    return found
