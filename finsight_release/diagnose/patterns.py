"""Evidence rules of each root-cause class.

A rule's weight is its specificity: an error code or message that only one cause produces weighs 7-9,
a phrase several causes share weighs 3-5, and a *wrapper* (a line that says "something failed
inside me": ``Broken DAG``, ``Database Error in model``, ``Task failed``, ``make: ***``) weighs 1-2 so
the cause it wraps decides. The rules were tuned on the ``tune`` split of the corpus only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from finsight_release.diagnose.categories import Category as C


@dataclass(frozen=True)
class Rule:
    """One evidence pattern: what it matches, which class it points to, how specific it is.

    ``anchors`` are lowercase literals, one of which occurs in every line the pattern matches (one
    per top-level alternative); the classifier only runs the regex on lines holding an anchor.
    ``after`` (lowercase literal) makes it a sequence rule: it only counts on lines that come after
    the first line holding that literal (Terraform's ``Refreshing state...`` then a 404 is drift).
    """

    pattern: re.Pattern[str]
    category: C
    weight: float
    wrapper: bool = False
    anchors: tuple[str, ...] = ()
    after: str = ""


def split_alternatives(pattern: str) -> list[str]:
    """Top-level alternatives of a regex (``|`` outside groups and character classes)."""
    parts, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def required_literal(alternative: str) -> str:
    """The longest literal run that every match of this alternative contains ('' if none).

    Only text outside groups and classes counts; a character made optional by ``?``, ``*`` or ``{``
    ends the run without being part of it; escapes like ``\\b`` and ``\\d`` end it too.
    """
    runs, run, depth, i = [], "", 0, 0
    while i < len(alternative):
        char = alternative[i]
        nxt = alternative[i + 1] if i + 1 < len(alternative) else ""
        if char == "\\":
            literal = nxt if nxt and not nxt.isalnum() else ""
            step = 2
        elif char in "()[":
            if char == "[":
                i = alternative.index("]", i + 1) + 1
            else:
                depth += 1 if char == "(" else -1
                i += 1
            runs.append(run)
            run = ""
            continue
        elif char == "{":
            literal, step = "", alternative.index("}", i) - i + 1
        elif char in ".^$+|*?":
            literal, step = "", 1
        else:
            literal, step = char, 1
        following = alternative[i + step] if i + step < len(alternative) else ""
        if depth == 0 and literal and following not in ("?", "*", "{"):
            run += literal
        else:
            runs.append(run)
            run = ""
        i += step
    runs.append(run)
    return max((r.strip().lower() for r in runs), key=len, default="")


def anchors_of(pattern: str) -> tuple[str, ...]:
    """One required literal per top-level alternative; () when any alternative has none of 3+ chars."""
    literals = [required_literal(alternative) for alternative in split_alternatives(pattern)]
    return tuple(literals) if all(len(literal) >= 3 for literal in literals) else ()


def _rules(category: C, *entries: tuple[str, float] | tuple[str, float, bool]) -> list[Rule]:
    return [
        Rule(
            re.compile(e[0], re.IGNORECASE),
            category,
            e[1],
            bool(e[2]) if len(e) > 2 else False,
            anchors_of(e[0]),
        )
        for e in entries
    ]


def _after(after: str, category: C, *entries: tuple[str, float]) -> list[Rule]:
    return [
        Rule(re.compile(e[0], re.IGNORECASE), category, e[1], False, anchors_of(e[0]), after)
        for e in entries
    ]


BASE_RULES: tuple[Rule, ...] = tuple(
    _rules(
        C.DEPENDENCY_CONFLICT,
        (r"ModuleNotFoundError|No module named ", 7),
        (r"ImportError: cannot import name", 6),
        (r"ResolutionImpossible|conflicting dependencies|No solution found when resolving", 8),
        (
            r"The conflict is caused by|pip's dependency resolver|incompatible with (?:apache-airflow|the constraint)",
            6,
        ),
        (r"VersionConflict|requires .* but you have|version solving failed", 6),
    )
    + _rules(
        C.DAG_PARSE,
        (r"Broken DAG", 1.5, True),
        (r"Failed to import:|Failed to bag_dag", 1.5, True),
        (r"\bSyntaxError\b|\bIndentationError\b|\bNameError\b|invalid syntax", 6),
        (r"AirflowDagCycleException|Cycle detected in DAG|has a cycle", 8),
        (r"AirflowDagDuplicatedIdException|Ignoring DAG .* duplicate|DAG .* already exists", 8),
        (
            r"Invalid timetable|is not a valid cron|Invalid schedule_interval|CroniterBad|Invalid Cron expression",
            8,
        ),
        (r"cron_descriptor|Expression only has \d+ parts", 6),
        (r"DagBag import timeout|AirflowTaskTimeout: DagBag|Broken DAG: \[[^\]]*\] Timeout", 8),
        (r"ERROR - Process timed out|ERROR:root:Process timed out|TimeoutError: Timeout", 5),
        (r"Invalid arguments were passed to", 5),
    )
    + _rules(
        C.CONFIG_SECRETS,
        (r"conn_id `?[\w.-]+`? isn't defined|CONNECTION_NOT_FOUND", 9),
        (r"Variable [\w.-]+ does not exist|KeyError: 'Variable", 9),
        (
            r"Secrets Manager can't find|secret not found|Failed to get secrets from secrets store",
            8,
        ),
        (r"ResourceNotFoundException", 4),
        (r"Env var required but not provided|EnvVarMissingError", 9),
        (r"environment variable .* (?:is )?(?:not set|required|missing)", 6),
        (r"missing required (?:setting|configuration|config key)|invalid configuration value", 5),
        (r"\b260002\b|password is empty", 7),
        (r"Insufficient privileges|not authorized to perform|AccessDenied(?:Exception)?", 3),
    )
    + _rules(
        C.BAD_CREDENTIALS,
        (r"Incorrect username or password|password authentication failed|Authentication failed", 8),
        (r"\b390100\b|\b390144\b|\b390318\b|JWT token is invalid|Invalid OAuth access token", 8),
        (
            r"ExpiredToken|RequestExpired|security token included in the request is (?:invalid|expired)",
            9,
        ),
        (
            r"InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClientException|InvalidAccessKeyId",
            9,
        ),
        (
            r"\b401\b.*Unauthorized|Bad credentials|invalid credentials|private key .* (?:invalid|could not)",
            5,
        ),
    )
    + _rules(
        C.WAREHOUSE_CONNECTIVITY,
        (r"Could not connect to Snowflake backend|Failed to connect to Snowflake Server", 8),
        (r"Verify the account name is correct|unable to connect to the specified database", 7),
        (
            r"Failed to connect to DB|could not connect to server|connection to server at .* failed",
            4,
        ),
        (
            r"\b250003\b|Max retries exceeded|Connection timed out|Connection refused|Read timed out",
            4,
        ),
        (r"Is the server running on (?:that )?host", 5),
        (
            r"Name or service not known|Temporary failure in name resolution|getaddrinfo failed|ProxyError",
            6,
        ),
        (
            r"No active warehouse selected|Warehouse .* (?:is suspended|does not exist)|cannot be resumed",
            8,
        ),
        (r"login-request.*(?:Bad Request|400)|Error connecting to snowflake", 5),
        (r"IO Error: Cannot open file|database is locked|Could not set lock on file", 5),
        (r"Connection test: \[ERROR\]", 3),
    )
    + _rules(
        C.SCHEMA_CHANGE,
        (
            r"invalid identifier|\b000904\b|Referenced column .* not found|column .* does not exist",
            8,
        ),
        (
            r"UndefinedColumn|no such column|UNRESOLVED_COLUMN|cannot be resolved|Unrecognized name:",
            7,
        ),
        (r"Name \w+ not found inside|No column \S+ found", 7),
        (
            r"Table .* does not exist|Object .* does not exist or not authorized|relation .* does not exist",
            6,
        ),
        (r"enforced contract|contract .* (?:failed|mismatch)|data type mismatch|type mismatch", 8),
        (r"missing in (?:contract|definition)", 4),
        (r"is not recognized|cannot be cast|Conversion Error|Numeric value .* is not", 4),
        (
            r"incompatible with an earlier schema|READER_FIELD_MISSING_DEFAULT_VALUE|SchemaParseException",
            8,
        ),
        (r"TYPE_MISMATCH|NAME_MISMATCH|breaks (?:BACKWARD|FORWARD|FULL)", 5),
        (r"Database Error in (?:model|snapshot)", 1.5, True),
    )
    + _rules(
        C.DATA_QUALITY,
        (r"Failure in test|Got \w+ results?, (?:configured to fail|expected 0)|\bFAIL \d+\b", 8),
        (r"checks? FAILED|check failures|Check FAILED|\[FAILED\]", 7),
        (
            r"contract verification (?:failed|is not passed)|validation run .* failed|ValidationError\(result",
            6,
        ),
        (
            r"GreatExpectationValidationError|GXValidationFailed|Validation with Great Expectations failed",
            8,
        ),
        (r"\bsoda\b|\"result\": \"failed\"", 3),
        (r"\bnot_null_\w+|\bunique_\w+|\baccepted_values_\w+|\brelationships_\w+", 3),
        (r"freshness .*(?:STALE|ERROR)|ERROR STALE|WARN STALE|\[STALE|error_after|anomal", 6),
    )
    + _rules(
        C.RESOURCE_EXHAUSTION,
        (
            r"OutOfMemoryError|Java heap space|MemoryError|OOMKilled|exit code:? 137|Cannot allocate memory",
            9,
        ),
        (r"No space left on device|disk (?:is )?full|DiskFull", 9),
        (
            r"ExecutorLostFailure|Lost executor|Container killed by|killed by the OOM|Too many open files",
            8,
        ),
        (r"Negsignal\.SIGKILL|signal 9 \(SIGKILL\)|exited with code -9", 8),
        (r"\bSIGKILL\b|received SIGTERM|zombie", 4),
    )
    + _rules(
        C.IAC_CHANGE,
        (r"Error acquiring the state lock|Error locking state|ConditionalCheckFailedException", 9),
        (
            r"already exists|EntityAlreadyExists|BucketAlreadyOwnedByYou|ResourceAlreadyExistsException",
            6,
        ),
        (
            r"Provider produced inconsistent|Unsupported argument|Missing required argument|Reference to undeclared",
            8,
        ),
        (
            r"is not expected here|Invalid reference|Error: Cycle:|Unsupported attribute|Invalid value for variable",
            7,
        ),
        (r"Error: (?:creating|updating|deleting|reading) |Error applying plan|terraform_plan", 3),
        (r"stateful (?:delete|replace)|terraform\.(?:stateful_replace|iam_wildcard|public_s3)", 6),
    )
    + _rules(
        C.INFRA_DRIFT,
        (
            r"(?:Objects have|changes made|changed|deleted|removed) (?:changed )?outside (?:of )?Terraform",
            9,
        ),
        (r"(?:deleted|removed|changed) manually|drifted from IaC|Found drifted resources", 8),
        (r"resource_drift|drift detected|refresh-only", 6),
        (r"# \S+ has been (?:deleted|changed)|# \S+ has changed", 5),
    )
    + _rules(
        C.CONTAINER_BUILD,
        (
            r"failed to solve|executor failed running|error building image|failed to compute cache key",
            7,
        ),
        (r"COPY failed|Failed to build Docker image", 6),
        (
            r"no basic auth credentials|pull access denied|manifest unknown|CannotPullContainerError",
            9,
        ),
        (
            r"ImagePullBackOff|ImageNotFoundException|RepositoryNotFoundException|requested image not found",
            9,
        ),
        (
            r"Error while pulling container|manifest for \S+ not found|image \S+ not found|no such image",
            7,
        ),
        (r"repository \S+ not found", 5),
        (r"exec format error|does not match the detected host platform|image platform", 8),
        (r"docker (?:build|push|pull)|ecr get-login|buildx", 2),
    )
    + _rules(
        C.CI_PIPELINE,
        (r"exceeded the maximum execution time|The operation was canceled|The job was canceled", 9),
        (
            r"Invalid workflow file|The workflow is not valid|Unexpected value '|Unrecognized named-value",
            9,
        ),
        (r"error in your yaml syntax|A mapping was not expected", 8),
        (
            r"lost communication with the server|runner has received a shutdown signal|No runner matching",
            9,
        ),
        (r"Unable to upload artifact|Failed to CreateArtifact|Fail to load /home/runner", 6),
        (r"blob missing|digest mismatch|missing from store", 5),
        (r"Process completed with exit code|##\[error\]|ERROR: Job failed|make: \*\*\*", 1, True),
    )
)

# Rules from the tools' own error catalogs. Each group cites the documentation it was written from;
# they were written from those pages and the corpus's tune split, never from the second evaluation set.
CATALOG_RULES: tuple[Rule, ...] = tuple(
    # Terraform/OpenTofu refresh: a managed resource read back as gone. Terraform docs, "Manage
    # resource drift" (developer.hashicorp.com/terraform/tutorials/state/resource-drift) and the
    # provider SDK contract (developer.hashicorp.com/terraform/plugin/sdkv2/resources/...: Read must
    # clear the id on 404; providers that instead return the error print it right after
    # "<addr>: Refreshing state..."). AWS error codes from docs.aws.amazon.com/AWSEC2/latest/APIReference/
    # errors-overview.html (InvalidXxx.NotFound), S3 NoSuchBucket/NoSuchKey, IAM NoSuchEntity, RDS
    # DBInstanceNotFound, and the AWS provider's "couldn't find resource" (internal/tfresource NotFound).
    _after(
        "refreshing state...",
        C.INFRA_DRIFT,
        (
            r"\b404\b|not found|NotFound|does not exist|NoSuch[A-Z]\w+|no longer exists|could not be found",
            8,
        ),
        (
            r"couldn't find resource|cannot be found|was deleted|has been deleted|doesn't exist|no such",
            8,
        ),
    )
    # `terraform plan`/`apply` refresh every managed resource first (same pages): a lookup that 404s or
    # "could not find" there is the same drift, printed without the "Refreshing state..." lines.
    + [
        rule
        for marker in ("terraform plan", "terraform apply", "tofu plan", "tofu apply")
        for rule in _after(
            marker,
            C.INFRA_DRIFT,
            (
                r"\b404\b|NotFound|could not find|couldn't find|does not exist|no longer exists|NoSuch[A-Z]\w+",
                6,
            ),
        )
    ]
    + _rules(
        C.INFRA_DRIFT,
        (r"couldn't find resource|\bempty result\b", 5),
        # docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
        (r"Invalid\w+(?:ID)?\.NotFound|\bDBInstanceNotFound|\bNoSuchEntity\b", 4),
        # Terraform refresh-only wording (developer.hashicorp.com/terraform/cli/commands/plan)
        (r"Terraform detected the following changes made outside of Terraform|Drift detected", 9),
    )
    # Terraform core diagnostics (github.com/hashicorp/terraform internal/configs and lang error
    # summaries; developer.hashicorp.com/terraform/language): configuration the change got wrong.
    + _rules(
        C.IAC_CHANGE,
        (
            r"Unsupported block type|Invalid resource type|Invalid function argument|Invalid count argument",
            8,
        ),
        (
            r"Missing required provider|Invalid provider configuration|Duplicate resource|Invalid for_each argument",
            8,
        ),
        (
            r"Reference to undeclared (?:resource|input variable|module|local value)|Unreadable module directory",
            8,
        ),
        (
            r"Module not installed|Invalid expression|Incorrect attribute value type|Unsupported operator",
            7,
        ),
        (r"Error: Inconsistent dependency lock file|Error: Invalid (?:block|argument|value)", 7),
        # AWS common errors (docs.aws.amazon.com/general/latest/gr/api-error-codes... "Common Errors"):
        # a request the change built wrong, or a resource that already exists / is still in use.
        (r"\bInvalidParameterValue\b|\bInvalidParameterCombination\b|\bValidationException\b", 6),
        (r"MalformedPolicyDocument", 6),
        (r"\bDependencyViolation\b|\bBucketAlreadyExists\b|\bInvalidPermission\.Duplicate\b", 7),
        # Terraform "Error: creating X ..." / "Error: updating X ..." (the AWS provider's create/update errors)
        (r"Error: (?:creating|updating|modifying) \S", 4),
    )
    # AWS credential errors: docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
    # (AuthFailure), STS/IAM "Common Errors" (IncompleteSignature, MissingAuthenticationToken,
    # InvalidSignatureException), Postgres SQLSTATE 28P01/28000 (postgresql.org/docs/current/errcodes-appendix.html),
    # Snowflake 390100/390144/390318 (docs.snowflake.com/en/user-guide/...-errors), Kafka SASL
    # (kafka.apache.org/documentation: SaslAuthenticationException).
    + _rules(
        C.BAD_CREDENTIALS,
        (
            r"\bAuthFailure\b|IncompleteSignature|MissingAuthenticationToken|InvalidSignatureException",
            8,
        ),
        (
            r"\b28P01\b|invalid_password|\bSaslAuthenticationException\b|Authentication failed during authentication",
            8,
        ),
        (
            r"token (?:has|is) expired|expired token|credentials (?:have|has) expired|The provided token is malformed",
            7,
        ),
        (
            r"\b390(?:101|102|104|113|114|190|191|302)\b|User temporarily locked|account has been temporarily locked",
            7,
        ),
        (
            r"invalid_grant|invalid_client|401 Client Error: Unauthorized|HTTP 401|status code: 401|StatusCode: 401",
            6,
        ),
        (
            r"authentication (?:token|credentials?) (?:is |are )?(?:invalid|rejected)|Access key .* does not exist",
            6,
        ),
    )
    # Missing configuration and permissions (not a rejected credential): botocore's NoCredentialsError and
    # NoRegionError (botocore.amazonaws.com/v1/documentation/api/latest/reference/exceptions.html),
    # SSM ParameterNotFound, dbt's "Could not find profile named" (docs.getdbt.com/docs/core/connect-data-platform/
    # connection-profiles), Airflow's AirflowNotFoundException/AirflowConfigException (airflow.apache.org
    # /docs/apache-airflow/stable/_api/airflow/exceptions), Snowflake 003001 (42501) insufficient
    # privileges and SQLSTATE 42501, AWS AccessDenied/UnauthorizedOperation, Kafka Topic/GroupAuthorizationException.
    + _rules(
        C.CONFIG_SECRETS,
        (
            r"NoCredentialsError|Unable to locate credentials|NoRegionError|You must specify a region",
            8,
        ),
        (
            r"ParameterNotFound|Could not find profile named|The config profile \(.*\) could not be found",
            8,
        ),
        (
            r"AirflowConfigException|AirflowNotFoundException|Missing required (?:environment variable|secret)",
            7,
        ),
        (
            r"\b003001\b|\b42501\b|\bUnauthorizedOperation\b|is not authorized to perform|AccessDeniedException",
            5,
        ),
        (
            r"TopicAuthorizationException|GroupAuthorizationException|Not authorized to access topics",
            6,
        ),
        (
            r"KeyError: '[A-Z][A-Z0-9_]{2,}'|\b(?:environ|getenv)\b.*KeyError|Required environment variable",
            5,
        ),
        (r"does not have a current (?:database|schema)|\b090105\b|\b090106\b", 7),
    )
    # Connectivity: Snowflake connector errors 250001/250003/251011/251012 and 390422 (IP not allowed by
    # network policy) (docs.snowflake.com/en/developer-guide/python-connector/python-connector-api,
    # "Error codes"), SQLSTATE class 08 (connection exception), Kafka NetworkClient and
    # TimeoutException texts (kafka.apache.org/documentation), SSL/certificate verification.
    + _rules(
        C.WAREHOUSE_CONNECTIVITY,
        (
            r"\b250001\b|\b251011\b|\b251012\b|\b08001\b|\b08006\b|\b390422\b|is not allowed to access Snowflake",
            5,
        ),
        (r"Broker may not be available|Connection to node -?\d+ .*could not be established", 7),
        (r"Failed to update metadata", 6),
        (r"Topic \S+ not present in metadata|NoBrokersAvailable|KafkaTimeoutError", 6),
        (r"CERTIFICATE_VERIFY_FAILED|SSLError|certificate verify failed|OCSP response", 5),
        (
            r"Could not resolve host|Network is unreachable|No route to host|EndpointConnectionError",
            6,
        ),
        (r"ConnectTimeoutError", 6),
        (r"server closed the connection unexpectedly|Connection reset by peer|Broken pipe", 4),
    )
    # Schema changes: Snowflake 002003 (42S02) "does not exist or not authorized", 002043 (02000),
    # 000904 invalid identifier, 002023 (22000) expression type mismatch, 100038/100040 value not
    # recognized (docs.snowflake.com/en/sql-reference/... error messages; the SQLSTATEs are ANSI:
    # 42S02 base table not found, 42S22 column not found), Postgres 42P01/42703/42804
    # (postgresql.org/docs/current/errcodes-appendix.html), dbt incremental on_schema_change='fail'
    # (docs.getdbt.com/docs/build/incremental-models#what-if-the-columns-of-my-incremental-model-change),
    # BigQuery "Unrecognized name" / "No such field", Spark AnalysisException, Confluent Schema
    # Registry error codes 409/40401/42201 and the Avro serializer's exceptions
    # (docs.confluent.io/platform/current/schema-registry/develop/api.html#errors).
    + _rules(
        C.SCHEMA_CHANGE,
        (r"\b002003\b|\b42S02\b|\b42S22\b|\b42P01\b|\b42703\b|\b42804\b|UndefinedTable", 8),
        (r"source and target schemas .*out of sync|on_schema_change", 9),
        (
            r"\b002043\b|\b002023\b|Expression type does not match column data type|\b100038\b|\b100040\b",
            7,
        ),
        (
            r"No such field|Unknown column|unknown field|column .* not found|could not find column|missing column",
            6,
        ),
        (
            r"AnalysisException|cannot resolve '|A column or function parameter with name .* cannot be resolved",
            6,
        ),
        (
            r"Unknown magic byte|Subject .*not found|error code: 4040[1-3]|error code: 42201|AvroTypeException",
            7,
        ),
        (r"Error (?:registering|retrieving) Avro schema|SerializationException", 7),
        (r"Schema being registered is incompatible", 7),
        (r"has changed type|data type of column|column type|changed from .* to .*type", 4),
    )
    # Dependency resolution, from each resolver's documented output: pip ("Dealing with dependency
    # conflicts", pip.pypa.io/en/stable/topics/dependency-resolution/), uv (docs.astral.sh/uv/
    # reference/resolver-internals: "No solution found when resolving dependencies", "your requirements
    # are unsatisfiable"), Poetry SolverProblemError, setuptools/pkg_resources DistributionNotFound, dbt
    # deps (docs.getdbt.com/docs/build/packages: "Version error for package", packages.yml vs installed,
    # require-dbt-version), npm ERESOLVE, Terraform provider constraints
    # (developer.hashicorp.com/terraform/language/providers/requirements).
    + _rules(
        C.DEPENDENCY_CONFLICT,
        (
            r"Could not find a version that satisfies the requirement|No matching distribution found for",
            8,
        ),
        (
            r"your requirements are unsatisfiable|we can conclude that|SolverProblemError|ERESOLVE",
            8,
        ),
        (
            r"has requirement .* but you'll have|which is incompatible|is not installed\.? ?$|DistributionNotFound",
            6,
        ),
        (
            r"Version error for package|Could not find a satisfactory version|packages? specified in packages\.yml",
            9,
        ),
        (
            r"require-dbt-version|This version of dbt is not supported|requires dbt version|Run \"dbt deps\"",
            8,
        ),
        (
            r"no available releases match the given constraints|Failed to query available provider packages",
            7,
        ),
        (
            r"ContextualVersionConflict|incompatible versions|version conflict|dependency conflict",
            6,
        ),
        (
            r"Failed building wheel|Could not build wheels|subprocess-exited-with-error|metadata-generation-failed",
            5,
        ),
        (r"AttributeError: module '[\w.]+' has no attribute|has no attribute '\w+'", 4),
        (
            r"got an unexpected keyword argument|takes \d+ positional arguments? but \d+ (?:were|was) given",
            3,
        ),
    )
    # Airflow's exceptions (airflow.apache.org/docs/apache-airflow/stable/_api/airflow/exceptions/index.html)
    # and DagBag import errors (airflow.apache.org/docs/apache-airflow/stable/core-concepts/dag-run...).
    + _rules(
        C.DAG_PARSE,
        (
            r"AirflowClusterPolicyViolation|DuplicateTaskIdFound|AirflowDagInconsistent|ParamValidationError",
            8,
        ),
        (
            r"DagNotFound|Dag id \S+ not found|DAG .* could not be found|dag_id could not be found",
            6,
        ),
        (
            r"has to be made of alphanumeric characters|Invalid DAG|Task is missing the start_date parameter",
            7,
        ),
        (r"TaskNotFound|Tried to create relationships between tasks that don't have DAGs", 6),
        (r"Import errors|import_errors|DAG Import Errors|Failed to import DAG", 3),
    )
    # Resources: AWS LimitExceeded/ServiceQuota/capacity codes (docs.aws.amazon.com/AWSEC2/latest/
    # APIReference/errors-overview.html), Kubernetes eviction/OOMKilled (kubernetes.io/docs/concepts/
    # scheduling-eviction/node-pressure-eviction), Postgres 53xxx (insufficient resources), Snowflake
    # 000630 (57014) statement timeout, Kafka RecordTooLargeException, Spark/YARN memory overhead.
    + _rules(
        C.RESOURCE_EXHAUSTION,
        (
            r"\b53100\b|\b53200\b|\b53300\b|too many connections|remaining connection slots are reserved",
            7,
        ),
        (
            r"InsufficientInstanceCapacity|\w*LimitExceeded\w*|ServiceQuotaExceeded|Rate exceeded|Throttling",
            5,
        ),
        (
            r"The node was low on resource|Evicted|ephemeral-storage|Disk quota exceeded|ENOSPC|ENOMEM",
            7,
        ),
        (
            r"\b000630\b|\b57014\b|statement or warehouse timeout|canceling statement due to statement timeout",
            6,
        ),
        (
            r"RecordTooLargeException|larger than the maximum request size|GC overhead limit exceeded",
            7,
        ),
        (r"memoryOverhead|memory limit|out of memory|\bOOM\b|\bKilled\b", 5),
    )
    # Docker/BuildKit output (docs.docker.com/build/building/... and the Dockerfile reference; registry
    # errors from the OCI distribution spec: MANIFEST_UNKNOWN, DENIED, TOOMANYREQUESTS).
    + _rules(
        C.CONTAINER_BUILD,
        (
            r"dockerfile parse error|unknown instruction|failed to read dockerfile|failed to load cache key",
            8,
        ),
        (r"returned a non-zero code: \d+|did not complete successfully: exit code", 4),
        (
            r"toomanyrequests|pull rate limit|denied: requested access to the resource is denied|MANIFEST_UNKNOWN",
            8,
        ),
        (
            r"no matching manifest for|failed to resolve source metadata|failed to do request|ERROR \[\w+ \d+/\d+\]",
            7,
        ),
        (r"Cannot connect to the Docker daemon|error during connect|not found in build context", 7),
        (r"failed to export image", 7),
        (r"\bDockerfile\b|\bbuildkit\b|\bdocker-compose\b", 2),
    )
    # CI: GitHub Actions' documented failures (docs.github.com/en/actions: workflow syntax, runners,
    # GITHUB_TOKEN permissions) and this project's own store errors for a release never published.
    + _rules(
        C.CI_PIPELINE,
        (
            r"Resource not accessible by integration|Unable to resolve action|Can't find 'action\.yml'",
            9,
        ),
        (
            r"Input required and not supplied|uses a deprecated version of|No space left on device.*runner",
            8,
        ),
        (
            r"The process '[^']*git' failed with exit code|fatal: could not read Username|Repository not found",
            6,
        ),
        (r"no manifest in store|unknown release 'r-", 6),
        (r"##\[warning\]|::error::|Error: Process completed", 1, True),
    )
    # Data quality: dbt test results (docs.getdbt.com/reference/commands/test), Postgres class 23
    # (integrity constraint violation), Great Expectations/Soda result shapes.
    + _rules(
        C.DATA_QUALITY,
        (r"\b23502\b|\b23505\b|\b23503\b|duplicate key value violates unique constraint", 6),
        (
            r"NULL result in a non-nullable column|violates not-null constraint|\b100072\b|Duplicate row detected",
            7,
        ),
        (r"Warning in test|Completed with \d+ errors? and \d+ warnings?|expectation .*failed", 5),
        (r"unsuccessful expectations", 5),
    )
)

# Added AFTER the first scoring of the second evaluation set (corpus/second_set.jsonl), from the same
# documentation pages; the README reports the second set both before ("frozen") and after these
# ("tuned") so the tuning cannot pass for generalisation.
POST_HOC_RULES: tuple[Rule, ...] = tuple(
    # Terraform diagnostics name the failing read first ("Error: error reading X", "Unable to read",
    # "Cannot read ... resource", "Error fetching"); a not-found detail after it is the drift shape of
    # developer.hashicorp.com/terraform/plugin/framework/resources/read (Read must handle 404).
    [
        rule
        for marker in (
            "error: error reading",
            "unable to read",
            "cannot read",
            "error fetching",
            'in resource "',
        )
        for rule in _after(
            marker,
            C.INFRA_DRIFT,
            (
                r"\b404\b|not found|NotFound|does not exist|no longer exists|couldn't find|could not find",
                6,
            ),
        )
    ]
    # Great Expectations validation results (docs.greatexpectations.io, "Validation Result" format)
    # and pandera's SchemaError report (pandera.readthedocs.io, "Error reports").
    + _rules(
        C.DATA_QUALITY,
        (r"Expectations? Failed|Expectation Suite .* Failed|\"unexpected_count\": [1-9]", 6),
        (r"failed element-wise validator|failure cases:|failure_cases", 6),
    )
    # Connection refusals/timeouts as the JDBC drivers and Postgres print them.
    + _rules(
        C.WAREHOUSE_CONNECTIVITY,
        (
            r"Connection to \S+ refused|connect timed out|Could not reach|encountered communication error",
            5,
        ),
    )
    # dbt deps' PackageVersionNotFoundError (docs.getdbt.com/docs/build/packages).
    + _rules(
        C.DEPENDENCY_CONFLICT,
        (
            r"PackageVersionNotFoundError|Could not find a matching (?:compatible )?version for package",
            8,
        ),
    )
)

RULES: tuple[Rule, ...] = BASE_RULES + CATALOG_RULES + POST_HOC_RULES

# A failed step's name gives a prior towards the layer it belongs to (first matching prefix wins).
STEP_PRIORS: tuple[tuple[str, C], ...] = (
    ("doctor:artifacts", C.CI_PIPELINE),
    ("doctor:images", C.CONTAINER_BUILD),
    ("doctor:drift", C.INFRA_DRIFT),
    ("doctor:dags", C.DAG_PARSE),
    ("doctor:secrets", C.CONFIG_SECRETS),
    ("doctor:warehouse", C.WAREHOUSE_CONNECTIVITY),
    ("doctor:credentials", C.BAD_CREDENTIALS),
    ("doctor:grants", C.CONFIG_SECRETS),
    ("doctor:live_schema", C.SCHEMA_CHANGE),
    ("validate:dags", C.DAG_PARSE),
    ("validate:deps", C.DEPENDENCY_CONFLICT),
    ("validate:terraform", C.IAC_CHANGE),
    ("validate:streaming", C.SCHEMA_CHANGE),
    ("validate:config", C.CONFIG_SECRETS),
    ("validate:secrets", C.CONFIG_SECRETS),
    ("promote:apply:airflow_dags", C.DAG_PARSE),
    ("promote:apply:airflow_requirements", C.DEPENDENCY_CONFLICT),
    ("promote:apply:terraform", C.IAC_CHANGE),
    ("promote:apply:container_image", C.CONTAINER_BUILD),
    ("promote:verify", C.DATA_QUALITY),
    ("terraform_plan", C.IAC_CHANGE),
    ("drift", C.INFRA_DRIFT),
    ("build:image", C.CONTAINER_BUILD),
    ("build", C.CI_PIPELINE),
    ("check", C.DATA_QUALITY),
)

# The pre-filter: every anchor of every rule. A line holding none of them cannot match any rule.
KEYWORDS: tuple[str, ...] = tuple(sorted({anchor for rule in RULES for anchor in rule.anchors}))


def trie_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """One regex matching any of ``words``, shaped as a trie so each position follows one branch.

    A flat alternation of hundreds of literals tries every one at every position; the trie shares
    prefixes, so scanning a 10 MB log costs about as much as two ``str.find`` passes.
    """
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(build(trie))


# The pre-filter as one pass: any anchor of any rule (lowercase), see ``trie_pattern``.
KEYWORD_PATTERN: re.Pattern[str] = trie_pattern(KEYWORDS)

# Literals that switch sequence rules on (see ``Rule.after``).
AFTER_MARKERS: tuple[str, ...] = tuple(sorted({rule.after for rule in RULES if rule.after}))
