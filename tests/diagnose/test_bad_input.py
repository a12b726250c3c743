"""Hostile input gets a clear answer (``unclassified`` where it must be) in time, and never a crash."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path

import pytest

from finsight_release.diagnose import classifier
from finsight_release.diagnose.categories import Category
from finsight_release.diagnose.classifier import diagnose_file, diagnose_stream, diagnose_text

DISK_FULL = "OSError: [Errno 28] No space left on device\n"


def test_empty_input_is_unclassified_and_says_so() -> None:
    for text in ("", "   \n\n", "\x00\x00"):
        diagnosis = diagnose_text(text)
        assert diagnosis.category == Category.UNCLASSIFIED and diagnosis.confidence == 0.0
        assert diagnosis.candidates == [] and diagnosis.evidence == []
        assert any("empty input" in note for note in diagnosis.notes)


def test_binary_garbage_is_unclassified_without_crashing(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(300_000)
    log = tmp_path / "core.bin"
    log.write_bytes(noise)
    diagnosis = diagnose_file(log)
    assert diagnosis.category == Category.UNCLASSIFIED
    assert any("binary" in note for note in diagnosis.notes)


def test_a_1_gb_log_is_read_as_head_and_tail_within_the_time_bar(tmp_path: Path) -> None:
    # A sparse file: 1 GB of holes, the tool's final error at the end (where tools print it).
    log = tmp_path / "huge.log"
    with open(log, "wb") as handle:
        handle.write(b"[2026-11-24] INFO starting\n")
        handle.seek(1_000_000_000)
        handle.write(DISK_FULL.encode())
    start = time.perf_counter()
    diagnosis = diagnose_file(log)
    assert time.perf_counter() - start < 5.0
    assert diagnosis.category == Category.RESOURCE_EXHAUSTION
    assert any(note.startswith("log of 1,000,000,") and "last" in note for note in diagnosis.notes)


def test_an_unseekable_stream_keeps_only_a_bounded_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classifier, "MAX_SCAN_BYTES", 50_000)
    monkeypatch.setattr(classifier, "HEAD_BYTES", 10_000)
    monkeypatch.setattr(classifier, "READ_CHUNK", 8_192)
    data = b"INFO fine\n" * 40_000 + DISK_FULL.encode()
    diagnosis = diagnose_stream(io.BytesIO(data))
    assert diagnosis.category == Category.RESOURCE_EXHAUSTION
    assert any("skipped" in note for note in diagnosis.notes)


def test_utf16_log_with_bom_is_decoded(tmp_path: Path) -> None:
    log = tmp_path / "windows.log"
    log.write_bytes(("INFO start\r\n" + DISK_FULL).encode("utf-16"))
    diagnosis = diagnose_file(log)
    assert diagnosis.category == Category.RESOURCE_EXHAUSTION
    assert any(note.startswith("decoded as utf-16") for note in diagnosis.notes)


def test_another_language_classifies_by_the_tool_error_and_abstains_without_one() -> None:
    chinese = (
        "执行任务报错：\n"
        'psycopg2.errors.UndefinedColumn: column "owner_org_id" of relation "job" does not exist'
    )
    assert diagnose_text(chinese).category == Category.SCHEMA_CHANGE
    assert (
        diagnose_text("任务失败了，请检查日志。\nLa tâche a échoué.").category
        == Category.UNCLASSIFIED
    )


def test_ansi_colour_codes_do_not_split_or_leak_into_evidence() -> None:
    text = (
        "\x1b[31m\x1b[1mERROR\x1b[0m: 250001 (08001): Failed to connect to DB. "
        "\x1b[33mIncorrect\x1b[0m username or password was specified."
    )
    diagnosis = diagnose_text(text)
    assert diagnosis.category == Category.BAD_CREDENTIALS
    assert all("\x1b" not in line for line in diagnosis.evidence)


def test_windows_line_endings_do_not_break_sequence_rules() -> None:
    text = (
        "aws_s3_bucket.raw: Refreshing state... [id=finsight-raw]\r\n"
        "\u2577\r\n\u2502 Error: reading S3 Bucket (finsight-raw): couldn't find resource\r\n"
        "\u2502 StatusCode: 404, NoSuchBucket\r\n"
    )
    diagnosis = diagnose_text(text)
    assert diagnosis.category == Category.INFRA_DRIFT
    assert all(not line.endswith("\r") for line in diagnosis.evidence)
