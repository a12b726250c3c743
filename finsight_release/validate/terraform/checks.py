"""``terraform.*`` checks: policy and drift on each Terraform stack's plan JSON.

Each ``terraform_stack`` artifact carries ``plan.json``, the output of ``terraform show -json`` for
the plan CI made against the target environment. :func:`check_plan_file` also works on any plan file.

Finding ids:
    terraform.plan_invalid      not JSON, a state file, or no plan keys (ERROR)
    terraform.plan_missing      the stack has no plan.json (WARNING: policy not verified)
    terraform.stateful_replace  delete/replace of a stateful resource without approval (ERROR)
    terraform.iam_wildcard      Allow of "*" / "service:*" on Resource "*" (ERROR; WARNING if unchanged)
    terraform.public_s3         public ACL/grant, disabled public access block, Principal "*" (idem)
    terraform.approved          an approved stateful replacement (INFO), or an approval the plan does not use
    terraform.summary           counts of planned actions (INFO)
    terraform.drift             resource_drift entries (WARNING, separate check)

Approvals: a stateful delete/replace is allowed when its address is listed in the stack's
``approved_replacements.yaml`` (reviewed and versioned with the release; see README)::

    approved_replacements:
      - address: aws_s3_bucket.scratch
        reason: bucket moves to the new data-lake stack
        approved_by: jane.doe

(plain address strings are accepted too), or in ``ctx.options["terraform.approved_replacements"]``
(comma-separated addresses; for one-off CLI runs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from finsight_release.errors import InvalidPlanError
from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.validate.check import CheckDefaults, ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.terraform.plan import Plan, address_line, drift_entries, load_plan
from finsight_release.validate.terraform.policy import violations

PLAN_FILE = "plan.json"
APPROVALS_FILE = "approved_replacements.yaml"
APPROVALS_OPTION = "terraform.approved_replacements"
HINTS = {
    "terraform.stateful_replace": (
        f"if intended, list the address in {APPROVALS_FILE} with a reason and approver; otherwise add "
        "lifecycle {{ prevent_destroy = true }} or use `moved`/`import` blocks instead of re-creating"
    ),
    "terraform.iam_wildcard": "grant the specific actions on specific resource ARNs the workload needs",
    "terraform.public_s3": "keep buckets private: acl private, all four public access block flags true",
}


def read_approvals(path: Path) -> set[str]:
    """Addresses approved for delete/replace in an approvals file (absent file: none).

    Raises:
        InvalidPlanError: the file exists but is not YAML of the documented shape.
    """
    if not path.exists():
        return set()
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidPlanError(f"cannot read approvals {path.name}: {exc}") from exc
    items = data.get("approved_replacements") if isinstance(data, dict) else data
    if items is None:
        return set()
    if not isinstance(items, list):
        raise InvalidPlanError(f"{path.name}: approved_replacements must be a list of addresses")
    addresses = set()
    for item in items:
        address = item.get("address") if isinstance(item, dict) else item
        if not isinstance(address, str) or not address:
            raise InvalidPlanError(f"{path.name}: every entry needs an 'address' (got {item!r})")
        addresses.add(address)
    return addresses


def option_approvals(ctx: ValidationContext) -> set[str]:
    """Addresses approved through ``ctx.options``."""
    raw = ctx.options.get(APPROVALS_OPTION, "")
    return {a.strip() for a in raw.split(",") if a.strip()}


def summary_message(plan: Plan) -> str:
    counts = Counter(change.verb for change in plan.changes)
    parts = [f"{counts.get(v, 0)} {v}" for v in ("create", "update", "replace", "delete")]
    version = plan.format_version or "unknown"
    return f"plan (format {version}): {', '.join(parts)}, {len(plan.drift)} drifted"


def policy_findings(
    plan: Plan, artifact: str, file: str | None, approvals: Iterable[str] = ()
) -> list[Finding]:
    """Policy findings for a parsed plan."""
    approved = set(approvals)
    used: set[str] = set()
    findings = [
        Finding(
            check_id="terraform.summary",
            severity=Severity.INFO,
            artifact=artifact,
            file=file,
            message=summary_message(plan),
        )
    ]
    findings += [
        Finding(
            check_id="terraform.plan_invalid",
            severity=Severity.WARNING,
            artifact=artifact,
            file=file,
            message=w,
        )
        for w in plan.warnings
    ]
    for change in plan.changes:
        for violation in violations(change):
            line = address_line(plan, change.address)
            if violation.rule == "terraform.stateful_replace" and violation.address in approved:
                used.add(violation.address)
                findings.append(
                    Finding(
                        check_id="terraform.approved",
                        severity=Severity.INFO,
                        artifact=artifact,
                        file=file,
                        line=line,
                        message=f"approved: {violation.message}",
                    )
                )
                continue
            severity = Severity.ERROR if violation.introduced else Severity.WARNING
            message = (
                violation.message
                if violation.introduced
                else f"{violation.message} (already deployed)"
            )
            findings.append(
                Finding(
                    check_id=violation.rule,
                    severity=severity,
                    artifact=artifact,
                    file=file,
                    line=line,
                    message=message,
                    hint=HINTS.get(violation.rule),
                )
            )
    for address in sorted(approved - used):
        findings.append(
            Finding(
                check_id="terraform.approved",
                severity=Severity.INFO,
                artifact=artifact,
                file=file,
                message=f"approval for {address} is not used by this plan; remove it",
            )
        )
    return findings


def invalid_plan_finding(artifact: str, file: str | None, error: InvalidPlanError) -> Finding:
    return Finding(
        check_id="terraform.plan_invalid",
        severity=Severity.ERROR,
        artifact=artifact,
        file=file,
        message=str(error),
        hint="commit the output of `terraform show -json <planfile>` as plan.json",
    )


def check_plan_file(
    path: Path, artifact: str | None = None, approvals: Iterable[str] = ()
) -> list[Finding]:
    """Policy findings for any plan file (``artifact`` defaults to the file name); never raises."""
    label = artifact or Path(path).name
    try:
        plan = load_plan(path)
    except InvalidPlanError as exc:
        return [invalid_plan_finding(label, str(path), exc)]
    return policy_findings(plan, label, str(path), approvals)


def drift_findings(plan: Plan, artifact: str, file: str | None) -> list[Finding]:
    """One ``terraform.drift`` WARNING per ``resource_drift`` entry."""
    return [
        Finding(
            check_id="terraform.drift",
            severity=Severity.WARNING,
            artifact=artifact,
            file=file,
            line=address_line(plan, entry.address, "resource_drift"),
            message=f"drift: {entry.describe()}",
            hint="reconcile: apply the plan to restore the declared state, or codify the manual change",
        )
        for entry in drift_entries(plan)
    ]


def stack_plan(ctx: ValidationContext, artifact: Artifact) -> tuple[Path, str]:
    """The plan path of a stack artifact and its path relative to the platform tree."""
    relative = f"{artifact.source}/{PLAN_FILE}"
    return ctx.platform / relative, relative


class TerraformPolicyCheck(CheckDefaults):
    """Stateful deletes/replacements, IAM wildcards and public S3 in each stack's plan.json."""

    id = "terraform.policy"
    kinds = frozenset({ArtifactKind.TERRAFORM_STACK})

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            findings.extend(self.check_stack(ctx, artifact))
        return findings

    def check_stack(self, ctx: ValidationContext, artifact: Artifact) -> list[Finding]:
        path, relative = stack_plan(ctx, artifact)
        if not path.exists():
            return [
                Finding(
                    check_id="terraform.plan_missing",
                    severity=Severity.WARNING,
                    artifact=artifact.name,
                    file=relative,
                    message=f"no {PLAN_FILE} in the stack: the plan policy was not checked",
                    hint="have CI run `terraform show -json tfplan > plan.json` in the stack directory",
                )
            ]
        approvals_relative = f"{artifact.source}/{APPROVALS_FILE}"
        try:
            approvals = read_approvals(ctx.platform / approvals_relative) | option_approvals(ctx)
        except InvalidPlanError as exc:
            return [invalid_plan_finding(artifact.name, approvals_relative, exc)]
        try:
            plan = load_plan(path)
        except InvalidPlanError as exc:
            return [invalid_plan_finding(artifact.name, relative, exc)]
        return policy_findings(plan, artifact.name, relative, approvals)


class TerraformDriftCheck(CheckDefaults):
    """``resource_drift`` entries of each stack's plan, reported as drift (WARNING)."""

    id = "terraform.drift"
    kinds = frozenset({ArtifactKind.TERRAFORM_STACK})

    def run(self, ctx: ValidationContext, artifacts: Sequence[Artifact]) -> list[Finding]:
        findings: list[Finding] = []
        for artifact in artifacts:
            path, relative = stack_plan(ctx, artifact)
            try:
                plan = load_plan(path)
            except InvalidPlanError:
                continue  # terraform.policy reports missing and invalid plans once
            findings.extend(drift_findings(plan, artifact.name, relative))
        return findings
