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
    """

    pattern: re.Pattern[str]
    category: C
    weight: float
    wrapper: bool = False
    anchors: tuple[str, ...] = ()


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
        Rule(re.compile(e[0], re.IGNORECASE), category, e[1], bool(e[2]) if len(e) > 2 else False, anchors_of(e[0]))
        for e in entries
    ]


RULES: tuple[Rule, ...] = tuple(
    _rules(
        C.DEPENDENCY_CONFLICT,
        (r"ModuleNotFoundError|No module named ", 7),
        (r"ImportError: cannot import name", 6),
        (r"ResolutionImpossible|conflicting dependencies|No solution found when resolving", 8),
        (r"The conflict is caused by|pip's dependency resolver|incompatible with (?:apache-airflow|the constraint)", 6),
        (r"VersionConflict|requires .* but you have|version solving failed", 6),
    )
    + _rules(
        C.DAG_PARSE,
        (r"Broken DAG", 1.5, True),
        (r"Failed to import:|Failed to bag_dag", 1.5, True),
        (r"\bSyntaxError\b|\bIndentationError\b|\bNameError\b|invalid syntax", 6),
        (r"AirflowDagCycleException|Cycle detected in DAG|has a cycle", 8),
        (r"AirflowDagDuplicatedIdException|Ignoring DAG .* duplicate|DAG .* already exists", 8),
        (r"Invalid timetable|is not a valid cron|Invalid schedule_interval|CroniterBad|Invalid Cron expression", 8),
        (r"cron_descriptor|Expression only has \d+ parts", 6),
        (r"DagBag import timeout|AirflowTaskTimeout: DagBag|Broken DAG: \[[^\]]*\] Timeout", 8),
        (r"ERROR - Process timed out|ERROR:root:Process timed out|TimeoutError: Timeout", 5),
        (r"Invalid arguments were passed to", 5),
    )
    + _rules(
        C.CONFIG_SECRETS,
        (r"conn_id `?[\w.-]+`? isn't defined|CONNECTION_NOT_FOUND", 9),
        (r"Variable [\w.-]+ does not exist|KeyError: 'Variable", 9),
        (r"Secrets Manager can't find|secret not found|Failed to get secrets from secrets store", 8),
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
        (r"ExpiredToken|RequestExpired|security token included in the request is (?:invalid|expired)", 9),
        (r"InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClientException|InvalidAccessKeyId", 9),
        (r"\b401\b.*Unauthorized|Bad credentials|invalid credentials|private key .* (?:invalid|could not)", 5),
    )
    + _rules(
        C.WAREHOUSE_CONNECTIVITY,
        (r"Could not connect to Snowflake backend|Failed to connect to Snowflake Server", 8),
        (r"Verify the account name is correct|unable to connect to the specified database", 7),
        (r"Failed to connect to DB|could not connect to server|connection to server at .* failed", 4),
        (r"\b250003\b|Max retries exceeded|Connection timed out|Connection refused|Read timed out", 4),
        (r"Is the server running on (?:that )?host", 5),
        (r"Name or service not known|Temporary failure in name resolution|getaddrinfo failed|ProxyError", 6),
        (r"No active warehouse selected|Warehouse .* (?:is suspended|does not exist)|cannot be resumed", 8),
        (r"login-request.*(?:Bad Request|400)|Error connecting to snowflake", 5),
        (r"IO Error: Cannot open file|database is locked|Could not set lock on file", 5),
        (r"Connection test: \[ERROR\]", 3),
    )
    + _rules(
        C.SCHEMA_CHANGE,
        (r"invalid identifier|\b000904\b|Referenced column .* not found|column .* does not exist", 8),
        (r"UndefinedColumn|no such column|UNRESOLVED_COLUMN|cannot be resolved|Unrecognized name:", 7),
        (r"Name \w+ not found inside|No column \S+ found", 7),
        (r"Table .* does not exist|Object .* does not exist or not authorized|relation .* does not exist", 6),
        (r"enforced contract|contract .* (?:failed|mismatch)|data type mismatch|type mismatch", 8),
        (r"missing in (?:contract|definition)", 4),
        (r"is not recognized|cannot be cast|Conversion Error|Numeric value .* is not", 4),
        (r"incompatible with an earlier schema|READER_FIELD_MISSING_DEFAULT_VALUE|SchemaParseException", 8),
        (r"TYPE_MISMATCH|NAME_MISMATCH|breaks (?:BACKWARD|FORWARD|FULL)", 5),
        (r"Database Error in (?:model|snapshot)", 1.5, True),
    )
    + _rules(
        C.DATA_QUALITY,
        (r"Failure in test|Got \w+ results?, (?:configured to fail|expected 0)|\bFAIL \d+\b", 8),
        (r"checks? FAILED|check failures|Check FAILED|\[FAILED\]", 7),
        (r"contract verification (?:failed|is not passed)|validation run .* failed|ValidationError\(result", 6),
        (r"GreatExpectationValidationError|GXValidationFailed|Validation with Great Expectations failed", 8),
        (r"\bsoda\b|\"result\": \"failed\"", 3),
        (r"\bnot_null_\w+|\bunique_\w+|\baccepted_values_\w+|\brelationships_\w+", 3),
        (r"freshness .*(?:STALE|ERROR)|ERROR STALE|WARN STALE|\[STALE|error_after|anomal", 6),
    )
    + _rules(
        C.RESOURCE_EXHAUSTION,
        (r"OutOfMemoryError|Java heap space|MemoryError|OOMKilled|exit code:? 137|Cannot allocate memory", 9),
        (r"No space left on device|disk (?:is )?full|DiskFull", 9),
        (r"ExecutorLostFailure|Lost executor|Container killed by|killed by the OOM|Too many open files", 8),
        (r"Negsignal\.SIGKILL|signal 9 \(SIGKILL\)|exited with code -9", 8),
        (r"\bSIGKILL\b|received SIGTERM|zombie", 4),
    )
    + _rules(
        C.IAC_CHANGE,
        (r"Error acquiring the state lock|Error locking state|ConditionalCheckFailedException", 9),
        (r"already exists|EntityAlreadyExists|BucketAlreadyOwnedByYou|ResourceAlreadyExistsException", 6),
        (r"Provider produced inconsistent|Unsupported argument|Missing required argument|Reference to undeclared", 8),
        (r"is not expected here|Invalid reference|Error: Cycle:|Unsupported attribute|Invalid value for variable", 7),
        (r"Error: (?:creating|updating|deleting|reading) |Error applying plan|terraform_plan", 3),
        (r"stateful (?:delete|replace)|terraform\.(?:stateful_replace|iam_wildcard|public_s3)", 6),
    )
    + _rules(
        C.INFRA_DRIFT,
        (r"(?:Objects have|changes made|changed|deleted|removed) (?:changed )?outside (?:of )?Terraform", 9),
        (r"(?:deleted|removed|changed) manually|drifted from IaC|Found drifted resources", 8),
        (r"resource_drift|drift detected|refresh-only", 6),
        (r"# \S+ has been (?:deleted|changed)|# \S+ has changed", 5),
    )
    + _rules(
        C.CONTAINER_BUILD,
        (r"failed to solve|executor failed running|error building image|failed to compute cache key", 7),
        (r"COPY failed|Failed to build Docker image", 6),
        (r"no basic auth credentials|pull access denied|manifest unknown|CannotPullContainerError", 9),
        (r"ImagePullBackOff|ImageNotFoundException|RepositoryNotFoundException|requested image not found", 9),
        (r"Error while pulling container|manifest for \S+ not found|image \S+ not found|no such image", 7),
        (r"repository \S+ not found", 5),
        (r"exec format error|does not match the detected host platform|image platform", 8),
        (r"docker (?:build|push|pull)|ecr get-login|buildx", 2),
    )
    + _rules(
        C.CI_PIPELINE,
        (r"exceeded the maximum execution time|The operation was canceled|The job was canceled", 9),
        (r"Invalid workflow file|The workflow is not valid|Unexpected value '|Unrecognized named-value", 9),
        (r"error in your yaml syntax|A mapping was not expected", 8),
        (r"lost communication with the server|runner has received a shutdown signal|No runner matching", 9),
        (r"Unable to upload artifact|Failed to CreateArtifact|Fail to load /home/runner", 6),
        (r"blob missing|digest mismatch|missing from store", 5),
        (r"Process completed with exit code|##\[error\]|ERROR: Job failed|make: \*\*\*", 1, True),
    )
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
