"""SOX evidence bundles: exported per production change with the chain slice, verified offline, every
tampering named; on S3 only to an Object Lock bucket, each object COMPLIANCE-retained >= 90 days."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result

from finsight_release.audit.export import EVENTS, MANIFEST
from finsight_release.cli import main
from tests.audit.test_head_marker_s3 import make_bucket
from tests.mini_platform import make_platform

TODAY = datetime.now(UTC).date().isoformat()


def _release(cli: CliRunner, tree: Path) -> str:
    built = cli.invoke(main, ["build", "--platform", str(tree)])
    assert built.exit_code == 0, built.output
    return next(w for w in built.output.split() if w.startswith("r-"))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """v1 and v2 through every environment (v2 to prod by emergency override), then prod rolled back."""
    root = tmp_path_factory.mktemp("evidence")
    patch = pytest.MonkeyPatch()
    patch.setenv("FINSIGHT_HOME", str(root / "home"))
    patch.setenv("FINSIGHT_ACTOR", "alice")
    patch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    cli = CliRunner()
    v1 = _release(cli, make_platform(root / "p1", without="dbt_project"))
    v2 = _release(
        cli,
        make_platform(
            root / "p2", {"release_assets/airflow/dags/ingest_core.py": "# v2\n"}, "dbt_project"
        ),
    )
    for env in ("dev", "staging", "prod"):
        assert cli.invoke(main, ["promote", env, v1]).exit_code == 0
        assert cli.invoke(main, ["checks", env]).exit_code == 0
    assert cli.invoke(main, ["promote", "dev", v2]).exit_code == 0
    forced = cli.invoke(main, ["promote", "prod", v2, "--emergency-override", "INC-7 hotfix"])
    assert forced.exit_code == 0, forced.output
    assert cli.invoke(main, ["rollback", "prod"]).exit_code == 0
    bundle = root / "bundle"
    exported = cli.invoke(
        main, ["evidence", "export", "--from", TODAY, "--to", TODAY, "--out", str(bundle)]
    )
    assert exported.exit_code == 0, exported.output
    yield {"cli": cli, "root": root, "bundle": bundle, "v1": v1, "v2": v2, "out": exported.output}
    patch.undo()


def _verify(history: dict[str, Any], bundle: Path) -> Result:
    return history["cli"].invoke(main, ["evidence", "verify", str(bundle)])


def test_one_record_per_production_change_with_its_evidence(history: dict[str, Any]) -> None:
    assert "exported 3 changes" in history["out"] and "audit chain intact" in history["out"]
    bundle = history["bundle"]
    index = json.loads((bundle / "index.json").read_text())
    assert [(c["kind"], c["release_id"]) for c in index] == [
        ("promote", history["v1"]),
        ("promote", history["v2"]),
        ("rollback", history["v1"]),
    ]
    forced = json.loads((bundle / index[1]["file"]).read_text())
    assert forced["actor"] == "alice" and forced["override_reason"] == "INC-7 hotfix"
    assert forced["overrides"] and forced["overrides"][0]["details"]["reason"] == "INC-7 hotfix"
    assert forced["release_manifest"]["release_id"] == history["v2"]
    assert forced["approvals"] == [] and "dag_only" in forced["change_set"]
    assert [e["outcome"] for e in forced["audit_events"]] == ["started", "ok"]
    assert all(len(e["hash"]) == 64 for e in forced["audit_events"])
    chain = json.loads((bundle / "chain.json").read_text())
    assert chain["ok"] and chain["head_marker"]["seq"] >= chain["checked"] - 1
    verified = _verify(history, bundle)
    assert verified.exit_code == 0 and "evidence bundle ok" in verified.output
    assert "3 changes" in verified.output


def _tampered_copy(history: dict[str, Any], name: str) -> Path:
    copy = history["root"] / f"tampered-{name}"
    shutil.copytree(history["bundle"], copy)
    return copy


def _reseal(bundle: Path, name: str) -> None:
    """What a careful forger does after editing ``name``: recompute its digest in the manifest."""
    import hashlib

    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / MANIFEST).write_text(json.dumps(manifest))


def test_tampering_is_named(history: dict[str, Any]) -> None:
    index = json.loads((history["bundle"] / "index.json").read_text())
    change = index[1]["file"]

    edited = _tampered_copy(history, "edit")
    record = json.loads((edited / change).read_text())
    record["override_reason"] = None
    (edited / change).write_text(json.dumps(record))
    result = _verify(history, edited)
    assert result.exit_code == 2 and change in result.output and "sha256" in result.output

    resealed = _tampered_copy(history, "reseal")
    record = json.loads((resealed / change).read_text())
    record["audit_events"][1]["details"]["override_reason"] = None
    (resealed / change).write_text(json.dumps(record))
    _reseal(resealed, change)
    result = _verify(history, resealed)
    assert result.exit_code == 2 and "modified" in result.output

    forged = _tampered_copy(history, "events")
    lines = (forged / EVENTS).read_text().splitlines()
    event = json.loads(lines[3])
    event["actor"] = "mallory"
    lines[3] = json.dumps(event)
    (forged / EVENTS).write_text("\n".join(lines) + "\n")
    _reseal(forged, EVENTS)
    result = _verify(history, forged)
    assert result.exit_code == 2 and f"seq {event['seq']}" in result.output

    dropped = _tampered_copy(history, "dropped")
    (dropped / change).unlink()
    result = _verify(history, dropped)
    assert result.exit_code == 2 and "missing" in result.output

    added = _tampered_copy(history, "added")
    (added / "changes" / "999-extra.json").write_text("{}")
    result = _verify(history, added)
    assert result.exit_code == 2 and "not in the manifest" in result.output

    nothing = _verify(history, history["root"] / "no-such-bundle")
    assert nothing.exit_code == 2 and "not found" in nothing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2020-01-01", "--to", "2020-01-02"], "no production change in prod"),
        (["--from", TODAY, "--to", "2020-01-02"], "is after --to"),
        (["--from", "yesterday", "--to", TODAY], "is not a date"),
        (["--from", "2999-01-01", "--to", "2999-01-02"], "in the future"),
    ],
)
def test_bad_ranges_export_nothing(history: dict[str, Any], args: list[str], message: str) -> None:
    out = history["root"] / f"bad-{abs(hash(tuple(args)))}"
    result = history["cli"].invoke(main, ["evidence", "export", *args, "--out", str(out)])
    assert result.exit_code == 1 and message in result.output
    assert not out.exists() or not any(out.iterdir())


def test_an_existing_bundle_is_never_overwritten(history: dict[str, Any]) -> None:
    before = (history["bundle"] / MANIFEST).read_bytes()
    result = history["cli"].invoke(
        main,
        ["evidence", "export", "--from", TODAY, "--to", TODAY, "--out", str(history["bundle"])],
    )
    assert result.exit_code == 1 and "not an empty directory" in result.output
    assert (history["bundle"] / MANIFEST).read_bytes() == before


def test_s3_export_is_compliance_locked_for_90_days(
    history: dict[str, Any], moto_server: str, tmp_path: Path
) -> None:
    client, bucket = make_bucket(moto_server, tmp_path, object_lock=True)
    cli = history["cli"]
    location = f"s3://{bucket}/evidence/2026-q4"
    result = cli.invoke(
        main, ["evidence", "export", "--from", TODAY, "--to", TODAY, "--out", location]
    )
    assert result.exit_code == 0, result.output
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "evidence/2026-q4/MANIFEST.json" in keys and len(keys) >= 6
    at_least = datetime.now(UTC) + timedelta(days=90) - timedelta(minutes=5)
    for key in keys:
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] >= at_least
    with pytest.raises(ClientError, match="AccessDenied"):
        client.delete_object(
            Bucket=bucket, Key=keys[0], VersionId=head_version(client, bucket, keys[0])
        )
    verified = cli.invoke(main, ["evidence", "verify", location])
    assert verified.exit_code == 0 and "3 changes" in verified.output, verified.output
    again = cli.invoke(
        main, ["evidence", "export", "--from", TODAY, "--to", TODAY, "--out", location]
    )
    assert again.exit_code == 1 and "not empty" in again.output

    _, plain = make_bucket(moto_server, tmp_path, object_lock=False)
    refused = cli.invoke(
        main, ["evidence", "export", "--from", TODAY, "--to", TODAY, "--out", f"s3://{plain}/e"]
    )
    assert refused.exit_code == 1 and "has no Object Lock" in refused.output
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=plain)


def head_version(client: Any, bucket: str, key: str) -> str:
    return str(client.head_object(Bucket=bucket, Key=key)["VersionId"])
