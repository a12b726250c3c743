"""The evidence patterns of each root-cause class, with weights: specific causes high, wrappers low."""

from __future__ import annotations

import re

from finsight_release.diagnose.categories import Category as C

_RAW: tuple[tuple[str, C, float], ...] = (
    # dependency_conflict: missing modules and resolver conflicts (often wrapped in "Broken DAG")
    (r"ModuleNotFoundError|No module named ", C.DEPENDENCY_CONFLICT, 6),
    (r"ImportError: cannot import name", C.DEPENDENCY_CONFLICT, 5),
    (r"ResolutionImpossible|conflicting dependencies|No solution found when resolving", C.DEPENDENCY_CONFLICT, 7),
    (r"pip's dependency resolver|incompatible with (?:apache-airflow|the constraint)", C.DEPENDENCY_CONFLICT, 5),
    (r"VersionConflict|requires .* but you have|version solving failed", C.DEPENDENCY_CONFLICT, 5),
    # dag_parse: errors in the DAG code itself
    (r"Broken DAG", C.DAG_PARSE, 2),
    (r"\b(?:SyntaxError|IndentationError|NameError)\b", C.DAG_PARSE, 5),
    (r"AirflowDagCycleException|Cycle detected in DAG|has a cycle", C.DAG_PARSE, 7),
    (r"AirflowDagDuplicatedIdException|Ignoring DAG .* duplicate|DAG .* already exists", C.DAG_PARSE, 7),
    (r"Invalid timetable|is not a valid cron|Invalid schedule_interval|croniter", C.DAG_PARSE, 6),
    (r"DagBag import timeout|AirflowTaskTimeout: DagBag", C.DAG_PARSE, 7),
    (r"AirflowException: Invalid arguments were passed|Invalid arguments were passed to", C.DAG_PARSE, 5),
    # config_secrets: something the environment should define is missing or wrong
    (r"conn_id `?[\w.-]+`? isn't defined|The conn_id .* isn't defined", C.CONFIG_SECRETS, 8),
    (r"Variable [\w.-]+ does not exist|KeyError: 'Variable", C.CONFIG_SECRETS, 8),
    (r"Secrets Manager can't find|ResourceNotFoundException|secret not found", C.CONFIG_SECRETS, 7),
    (
        r"Env var required but not provided|environment variable .* (?:is )?(?:not set|required|missing)",
        C.CONFIG_SECRETS,
        7,
    ),
    (r"missing required (?:setting|configuration|config key)|invalid configuration value", C.CONFIG_SECRETS, 5),
    (r"Insufficient privileges|not authorized to perform|AccessDenied(?:Exception)?", C.CONFIG_SECRETS, 3),
    # bad_credentials: authentication rejected
    (r"Incorrect username or password|password authentication failed|Authentication failed", C.BAD_CREDENTIALS, 7),
    (r"\b(?:250001|390100|390144|390318)\b|JWT token is invalid|Invalid OAuth access token", C.BAD_CREDENTIALS, 7),
    (
        r"ExpiredToken|RequestExpired|security token included in the request is (?:invalid|expired)",
        C.BAD_CREDENTIALS,
        8,
    ),
    (
        r"InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClientException|InvalidAccessKeyId",
        C.BAD_CREDENTIALS,
        8,
    ),
    (
        r"\b401\b.*Unauthorized|Bad credentials|invalid credentials|private key .* (?:invalid|could not)",
        C.BAD_CREDENTIALS,
        5,
    ),
    # warehouse_connectivity: cannot reach or use the warehouse or database
    (
        r"Could not connect to Snowflake backend|Failed to connect to DB|could not connect to server",
        C.WAREHOUSE_CONNECTIVITY,
        6,
    ),
    (
        r"\b250003\b|Max retries exceeded|Connection timed out|Connection refused|Read timed out",
        C.WAREHOUSE_CONNECTIVITY,
        4,
    ),
    (
        r"Name or service not known|Temporary failure in name resolution|getaddrinfo failed|ProxyError",
        C.WAREHOUSE_CONNECTIVITY,
        5,
    ),
    (
        r"No active warehouse selected|Warehouse .* (?:is suspended|does not exist)|cannot be resumed",
        C.WAREHOUSE_CONNECTIVITY,
        7,
    ),
    (r"IO Error: Cannot open file|database is locked|Could not set lock on file", C.WAREHOUSE_CONNECTIVITY, 5),
    # schema_change: a source or target schema changed
    (r"invalid identifier|\b000904\b|Referenced column .* not found|column .* does not exist", C.SCHEMA_CHANGE, 7),
    (
        r"Table .* does not exist|Object .* does not exist or not authorized|relation .* does not exist",
        C.SCHEMA_CHANGE,
        5,
    ),
    (r"enforced contract|contract .* (?:failed|mismatch)|data type mismatch|type mismatch", C.SCHEMA_CHANGE, 7),
    (r"is not recognized|cannot be cast|Conversion Error|Numeric value .* is not", C.SCHEMA_CHANGE, 4),
    (
        r"incompatible with an earlier schema|READER_FIELD_MISSING_DEFAULT_VALUE|SchemaParseException|"
        r"TYPE_MISMATCH|breaks (?:BACKWARD|FORWARD|FULL)",
        C.SCHEMA_CHANGE,
        7,
    ),
    (r"invalid identifier '\w+' \(column missing\)", C.SCHEMA_CHANGE, 3),
    # data_quality: checks and tests that ran and failed
    (r"Failure in test|Got \d+ results?, configured to fail|\bFAIL \d+\b", C.DATA_QUALITY, 7),
    (r"soda|Checks? failed|contract verification (?:failed|is not passed)|check .* failed", C.DATA_QUALITY, 4),
    (r"\b(?:not_null|unique|accepted_values|relationships)_\w+", C.DATA_QUALITY, 3),
    (r"freshness|ERROR STALE|WARN STALE|error_after|anomal", C.DATA_QUALITY, 4),
    # resource_exhaustion
    (
        r"OutOfMemoryError|Java heap space|MemoryError|OOMKilled|exit code 137|Cannot allocate memory",
        C.RESOURCE_EXHAUSTION,
        8,
    ),
    (r"No space left on device|disk (?:is )?full|DiskFull", C.RESOURCE_EXHAUSTION, 8),
    (
        r"ExecutorLostFailure|Lost executor|Container killed by|killed by the OOM|Too many open files",
        C.RESOURCE_EXHAUSTION,
        7,
    ),
    (r"\bSIGKILL\b|received SIGTERM|zombie|Negsignal\.SIGKILL", C.RESOURCE_EXHAUSTION, 4),
    # iac_change: the Terraform change itself
    (r"Error acquiring the state lock|ConditionalCheckFailedException.*lock", C.IAC_CHANGE, 8),
    (r"already exists|EntityAlreadyExists|BucketAlreadyOwnedByYou|ResourceAlreadyExistsException", C.IAC_CHANGE, 5),
    (
        r"Provider produced inconsistent|Unsupported argument|Missing required argument|Reference to undeclared",
        C.IAC_CHANGE,
        7,
    ),
    (
        r"Invalid reference|Error: Cycle:|Unsupported attribute|Invalid value for variable|terraform_plan",
        C.IAC_CHANGE,
        6,
    ),
    (r"Error: (?:creating|updating|deleting|reading) ", C.IAC_CHANGE, 3),
    (r"stateful (?:delete|replace)|terraform\.(?:stateful_replace|iam_wildcard|public_s3)", C.IAC_CHANGE, 6),
    # infra_drift: changed outside Terraform
    (
        r"Objects have changed outside of Terraform|changed outside Terraform|deleted outside Terraform",
        C.INFRA_DRIFT,
        9,
    ),
    (r"resource_drift|drift detected|refresh-only", C.INFRA_DRIFT, 6),
    # container_build
    (
        r"failed to solve|executor failed running|error building image|failed to compute cache key|COPY failed",
        C.CONTAINER_BUILD,
        7,
    ),
    (
        r"no basic auth credentials|pull access denied|manifest unknown|CannotPullContainerError|ImagePullBackOff|"
        r"ImageNotFoundException|RepositoryNotFoundException|requested image not found",
        C.CONTAINER_BUILD,
        8,
    ),
    (r"exec format error|does not match the detected host platform|image platform", C.CONTAINER_BUILD, 7),
    (r"docker (?:build|push|pull)|ecr get-login|buildx", C.CONTAINER_BUILD, 3),
    # ci_pipeline
    (r"has exceeded the maximum execution time|The operation was canceled|The job was canceled", C.CI_PIPELINE, 7),
    (r"Invalid workflow file|The workflow is not valid|Unexpected value '|Unrecognized named-value", C.CI_PIPELINE, 8),
    (r"lost communication with the server|runner has received a shutdown signal|No runner matching", C.CI_PIPELINE, 8),
    (r"Unable to upload artifact|Failed to CreateArtifact|actions/(?:checkout|upload-artifact)@", C.CI_PIPELINE, 5),
    (r"blob missing|digest mismatch|missing from store", C.CI_PIPELINE, 5),
    (r"Process completed with exit code|##\[error\]", C.CI_PIPELINE, 1),
)

PATTERNS: tuple[tuple[re.Pattern[str], C, float], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), category, weight) for pattern, category, weight in _RAW
)

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
    ("build", C.CI_PIPELINE),
    ("promote:verify", C.DATA_QUALITY),
)
