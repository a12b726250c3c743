"""Avro compatibility: every case of tests/fixtures/avro_compat/ (sources: its SOURCES.md) gives the expected answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from finsight_release.release.artifact import ArtifactKind, build_artifact
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.streaming.check import AvroCompatibilityCheck, parse_schema_text
from finsight_release.validate.streaming.compatibility import (
    CompatibilityMode,
    check_compatibility,
    explain,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "avro_compat"


def _load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line.strip()]


PAIRS = _load("cases.jsonl")
LEVELS = _load("cases_levels.jsonl")


def _schema(value: Any) -> Any:
    return parse_schema_text(json.dumps(value), "fixture")


def test_fixture_counts_match_sources_md() -> None:
    assert len(PAIRS) == 177 and sum(c["compatible"] for c in PAIRS) == 99
    assert len(LEVELS) == 38


@pytest.mark.parametrize("case", PAIRS, ids=[c["id"] for c in PAIRS])
def test_reader_writer_pair(case: dict[str, Any]) -> None:
    reader, writer = _schema(case["reader"]), _schema(case["writer"])
    problems = explain(reader, writer)
    assert (not problems) == case["compatible"]
    # The same pair is BACKWARD(new=reader, prev=writer) and FORWARD(new=writer, prev=reader).
    backward = check_compatibility(reader, [("v1", writer)], CompatibilityMode.BACKWARD)
    forward = check_compatibility(writer, [("v1", reader)], CompatibilityMode.FORWARD)
    assert (not backward) == case["compatible"] == (not forward)
    for incompatibility in backward:
        assert "breaks BACKWARD: new readers cannot read v1 data" in incompatibility.message


@pytest.mark.parametrize("case", LEVELS, ids=[c["id"] for c in LEVELS])
def test_level_case(case: dict[str, Any]) -> None:
    previous = [(f"v{i + 1}", _schema(s)) for i, s in enumerate(case["previous"])]
    found = check_compatibility(_schema(case["new"]), previous, CompatibilityMode(case["level"]))
    assert (not found) == case["compatible"], [i.message for i in found]
    assert all(i.mode.value == case["level"] for i in found)


def _record(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": "Payment", "namespace": "finsight", "fields": list(fields)}


AMOUNT_LONG = {"name": "amount", "type": "long"}
AMOUNT_STRING = {"name": "amount", "type": "string"}
ID = {"name": "id", "type": "string"}


def test_message_names_field_rule_and_version() -> None:
    found = check_compatibility(
        _schema(_record(ID, AMOUNT_STRING)),
        [("v2", _schema(_record(ID, AMOUNT_LONG)))],
        CompatibilityMode.BACKWARD,
    )
    assert [i.message for i in found] == [
        "field 'amount' type changed long -> string breaks BACKWARD: new readers cannot read v2 data"
    ]
    assert found[0].field == "amount" and found[0].rule == "type_mismatch"


def test_forward_names_removed_field_without_default() -> None:
    found = check_compatibility(
        _schema(_record(ID)), [("v1", _schema(_record(ID, AMOUNT_LONG)))], CompatibilityMode.FORWARD
    )
    assert len(found) == 1
    assert found[0].message.startswith("field 'amount' removed but has no default")
    assert "readers on v1 cannot read data written with the new schema" in found[0].message


def test_nested_field_path_is_dotted() -> None:
    old = _record(
        ID, {"name": "meta", "type": {"type": "record", "name": "Meta", "fields": [AMOUNT_LONG]}}
    )
    new = _record(
        ID, {"name": "meta", "type": {"type": "record", "name": "Meta", "fields": [AMOUNT_STRING]}}
    )
    found = check_compatibility(_schema(new), [("v1", _schema(old))], CompatibilityMode.FULL)
    assert {i.field for i in found} == {"meta.amount"}
    assert {i.direction.value for i in found} == {"BACKWARD", "FORWARD"}


def test_non_transitive_checks_only_the_latest_version() -> None:
    v1 = _schema(_record(ID, AMOUNT_STRING))
    v2 = _schema(_record(ID, AMOUNT_LONG))
    new = _schema(_record(ID, AMOUNT_LONG, {"name": "note", "type": "string", "default": ""}))
    assert check_compatibility(new, [("v1", v1), ("v2", v2)], CompatibilityMode.BACKWARD) == []
    transitive = check_compatibility(
        new, [("v1", v1), ("v2", v2)], CompatibilityMode.BACKWARD_TRANSITIVE
    )
    assert [i.against for i in transitive] == ["v1"]
    assert check_compatibility(new, [("v1", v1)], CompatibilityMode.NONE) == []


def _topic(
    platform: Path, schema: dict[str, Any], history: list[dict[str, Any]], topic_yaml: str | None
) -> Path:
    topic = platform / "release_assets" / "streaming" / "payments.events"
    (topic / "history").mkdir(parents=True)
    (topic / "schema.avsc").write_text(json.dumps(schema, indent=2))
    for i, old in enumerate(history, start=1):
        (topic / "history" / f"v{i}.avsc").write_text(json.dumps(old))
    if topic_yaml is not None:
        (topic / "topic.yaml").write_text(topic_yaml)
    return topic


def _check(platform: Path, base_dir: Path | None = None) -> list[Finding]:
    topic = platform / "release_assets" / "streaming" / "payments.events"
    artifact = build_artifact(
        ArtifactKind.STREAM_SCHEMA, "streaming/payments.events", topic, platform
    )
    ctx = ValidationContext(platform=platform, base_dir=lambda _name: base_dir)
    return AvroCompatibilityCheck().run(ctx, [artifact])


def test_topic_check_reports_file_and_line(tmp_path: Path) -> None:
    _topic(
        tmp_path,
        _record(ID, AMOUNT_STRING),
        [_record(ID), _record(ID, AMOUNT_LONG)],
        "compatibility: BACKWARD\n",
    )
    findings = _check(tmp_path)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.severity is Severity.ERROR and finding.check_id == "streaming.compatibility"
    assert finding.file == "release_assets/streaming/payments.events/schema.avsc"
    assert (
        "field 'amount' type changed long -> string" in finding.message
        and "v2 data" in finding.message
    )
    lines = (tmp_path / finding.file).read_text().splitlines()
    assert finding.line is not None and '"amount"' in lines[finding.line - 1]


def test_history_sorted_naturally_and_current_version_dropped(tmp_path: Path) -> None:
    legacy = {"name": "legacy", "type": "int"}
    current = _record(ID, AMOUNT_LONG)
    history = [_record(ID)] * 9 + [_record(ID, legacy), current]  # v1..v11; v11 == current
    _topic(tmp_path, current, history, "compatibility: FORWARD\n")
    # Latest previous is v10: not v9 (lexicographic order) and not v11 (the new schema itself).
    findings = _check(tmp_path)
    assert len(findings) == 1
    assert findings[0].message.startswith("field 'legacy' removed but has no default")
    assert "readers on v10 cannot read" in findings[0].message


def test_base_release_schema_is_compared(tmp_path: Path) -> None:
    _topic(tmp_path, _record(ID, AMOUNT_STRING), [], "compatibility: FULL\n")
    base = tmp_path / "base"
    base.mkdir()
    (base / "schema.avsc").write_text(json.dumps(_record(ID, AMOUNT_LONG)))
    findings = _check(tmp_path, base_dir=base)
    assert len(findings) == 2 and all("the base release" in f.message for f in findings)
    assert _check(tmp_path) == []  # no history and no base: nothing to break


def test_missing_topic_yaml_defaults_to_backward(tmp_path: Path) -> None:
    _topic(tmp_path, _record(ID, {"name": "n", "type": "int"}), [_record(ID)], None)
    findings = _check(tmp_path)
    assert len(findings) == 1 and "breaks BACKWARD" in findings[0].message


@pytest.mark.parametrize(
    ("schema_text", "topic_yaml", "check_id", "text"),
    [
        (
            '{"type": "record", "name": "P", "fields": [{"name": "x", "type": "nope"}]}',
            "",
            "streaming.schema_invalid",
            "not a valid Avro schema",
        ),
        ("{not json", "", "streaming.schema_invalid", "not a valid Avro schema"),
        (
            '"string"',
            "compatibility: SIDEWAYS\n",
            "streaming.topic_config",
            "unknown compatibility 'SIDEWAYS'",
        ),
    ],
)
def test_bad_input_is_a_finding(
    tmp_path: Path, schema_text: str, topic_yaml: str, check_id: str, text: str
) -> None:
    topic = _topic(tmp_path, {"type": "string"}, [], topic_yaml)
    (topic / "schema.avsc").write_text(schema_text)
    findings = _check(tmp_path)
    assert [(f.check_id, f.severity) for f in findings] == [(check_id, Severity.ERROR)]
    assert text in findings[0].message
