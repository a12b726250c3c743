"""SOX evidence bundles for auditors: ``evidence export`` writes one, ``evidence verify`` checks one
offline (no database, no store: only the bundle's files)."""

from __future__ import annotations

import click

from finsight_release.cli.app import handles_errors, main, open_system, out
from finsight_release.envs.environment import Environment


@main.group("evidence")
def evidence_group() -> None:
    """Evidence bundles of production changes for auditors (kept 90 days)."""


@evidence_group.command("export")
@click.option("--env", "env_name", default="prod", show_default=True, help="Environment.")
@click.option(
    "--from", "start", required=True, help="First day (YYYY-MM-DD) or instant (ISO 8601)."
)
@click.option("--to", "end", required=True, help="Last day (inclusive) or instant.")
@click.option(
    "--out",
    "location",
    required=True,
    help="A new directory, or s3://bucket/prefix on a bucket with Object Lock (AWS mode).",
)
@handles_errors
def evidence_export(env_name: str, start: str, end: str, location: str) -> None:
    """Write every production change of ENV from --from to --to, with its audit chain, as a
    tamper-evident bundle (sha256 manifest; on S3 under COMPLIANCE Object Lock for 90 days)."""
    result = open_system().export_evidence(Environment.parse(env_name), start, end, location)
    chain = "intact" if result.chain_ok else "[red]BROKEN (see chain.json)[/red]"
    out.print(
        f"exported {result.changes} changes, {result.events} audit events, {result.files} files to "
        f"{result.location}; manifest sha256 {result.manifest_sha256}; audit chain {chain}",
        highlight=False,
        soft_wrap=True,
    )


@evidence_group.command("verify")
@click.argument("location")
@handles_errors
def evidence_verify(location: str) -> None:
    """Verify the evidence bundle at LOCATION offline; exits 2 naming the first tampered file."""
    check = open_system().verify_evidence(location)
    out.print(
        f"evidence bundle ok: {check.environment} {check.start} .. {check.end}, {check.changes} "
        f"changes, {check.events} chained events, {check.files} files; last hash "
        f"{check.last_hash[:12]}; chain at export {'intact' if check.chain_ok_at_export else 'BROKEN'}",
        highlight=False,
        soft_wrap=True,
    )
