"""One root exception for the project; subclasses say what went wrong and carry the thing it concerns.

The CLI prints ``str(error)`` as one red line and exits non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations


class FinsightError(Exception):
    """Root of every error this project raises on purpose."""

    exit_code: int = 1


class PlatformTreeError(FinsightError):
    """The platform tree is missing or does not have the expected layout."""


class UnsafeSymlinkError(PlatformTreeError):
    """A symlink in the platform tree leaves it, dangles or loops: following it could ship outside bytes."""


class SizeLimitError(PlatformTreeError):
    """A file or a whole release is over its size cap (``FINSIGHT_MAX_FILE_MB`` / ``FINSIGHT_MAX_RELEASE_MB``)."""


class ArtifactError(FinsightError):
    """An artifact is missing, unreadable or does not match its digest."""


class DigestMismatchError(ArtifactError):
    """Stored bytes do not hash to the digest they are stored under."""


class UnknownReleaseError(FinsightError):
    """No release with this id exists in the store."""


class UnknownEnvironmentError(FinsightError):
    """The environment name is not one of dev, staging, prod."""


class StoreUnavailableError(FinsightError):
    """The artifact or pointer store cannot be reached."""


class StaleCasTokenError(FinsightError):
    """A compare-and-swap lost: the pointer changed since it was read (another writer won)."""


class PromotionRefusedError(FinsightError):
    """A promotion or rollback was refused before anything changed (order, gates, state)."""


class AuditChainError(FinsightError):
    """The audit hash chain is broken; names the first bad event."""


class PromotionFailedError(FinsightError):
    """Applying or verifying a release failed; the environment was restored to its previous release."""


class InvalidPlanError(FinsightError):
    """A file given as a Terraform plan is not one: bad JSON, a state file, or no plan keys."""


class SchemaParseError(FinsightError):
    """An Avro schema file cannot be read or is not a valid Avro schema."""


class ConfigError(FinsightError):
    """An environment config file is unreadable or does not match the schema (names file and field)."""


class ToolNotFoundError(FinsightError):
    """An external program the project drives (uv, dbt, java, an interpreter) cannot be found."""


class AirflowProbeError(FinsightError):
    """An Airflow probe process (DagBag parse, plugin load) could not start or died outside any DAG file."""


class AuditLogError(FinsightError):
    """The audit log cannot be opened or written."""


class SyntheticDataError(FinsightError):
    """The synthetic raw data could not be generated; the previous raw tables are untouched."""


class DbtRunError(FinsightError):
    """dbt failed; the message names the failing nodes or dbt's own error line."""


class JobSpecError(FinsightError):
    """A job's spec is unreadable or inconsistent; ``check_id``, ``file`` and ``line`` place it."""

    def __init__(
        self,
        check_id: str,
        message: str,
        file: str,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.check_id, self.message, self.file, self.line, self.hint = (
            check_id,
            message,
            file,
            line,
            hint,
        )


class UvError(FinsightError):
    """uv did not finish."""


class SourceReadError(FinsightError):
    """A source definition could not be read or rendered."""


class SparkProbeError(FinsightError):
    """The Spark smoke probe died before its first job (the runtime or its JVM cannot start)."""


class EnvironmentBusyError(PromotionRefusedError):
    """Another operation holds the environment; nothing was changed."""


class TakenOverError(PromotionFailedError):
    """This process's operation was taken over (``resolve``, ``rollback``) while it ran: it stops and
    leaves the targets to the new owner."""


class InstantOutOfRangeError(FinsightError):
    """A timestamp asked about is unreadable, in the future, or before the evidence retention window."""


class EvidenceExportError(FinsightError):
    """An evidence export cannot be written (no changes in the range, bad range, unwritable target)."""


class EvidenceTamperedError(FinsightError):
    """An evidence bundle does not verify: a file's digest, the manifest or the event chain is wrong."""

    exit_code = 2


class AirflowApiError(FinsightError):
    """Airflow's REST API cannot be used: unreachable, no answer in time, refused credentials
    (401/403), or an unexpected answer; names the URL and the cause."""


class AirflowStartError(FinsightError):
    """A local Airflow (webserver, scheduler) did not start or become healthy in time."""


class StoreAddressError(FinsightError):
    """A store URL or object key is malformed (not ``s3://``, an absolute path, a ``..`` segment)."""


class DagsterStartError(FinsightError):
    """The local Dagster webserver or daemon did not come up."""


class TargetError(FinsightError):
    """A target cannot prepare, switch or read a version (names the target and the version)."""


class WarehouseDeployError(TargetError):
    """dbt build or publication into the warehouse failed (the published layer is unchanged)."""


class NothingPublishedError(FinsightError):
    """The environment's warehouse publishes no release: there is nothing to judge."""


class PublishError(WarehouseDeployError):
    """The published layer could not be switched (it still serves what it served before)."""


class SparkDeployError(TargetError):
    """A Spark job deploy stopped (build, import on the runtime, artifact location, switch); the job
    definitions the orchestrator launches are unchanged. The message starts with ``spark:``."""


class StreamingDeployError(TargetError):
    """A streaming deploy stopped (schema registry or consumer rollout); the running version keeps
    consuming. The message starts with the layer (``streaming/schema``, ``streaming/consumer``)."""


class RolloutStoppedError(StreamingDeployError):
    """A consumer rollout was stopped and rolled back; ``report`` says what it measured."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report
