"""The DagBag check survives any DAG file a user can write, and reports each one by file and line.

Each hostile file is one a real repository could hold: it exits the interpreter, interrupts it, writes
output, warns, loops (interruptibly or not), allocates without bound or crashes the interpreter. None
of them may take the rest of the bundle down with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from finsight_release.validate.finding import Finding, Severity
from tests.validate.airflow.test_dagbag_and_requirements import GOOD, PYTHON, findings_for

pytestmark = pytest.mark.skipif(
    not PYTHON.exists(), reason="Airflow venv missing: run scripts/setup.sh"
)

DAGS = "release_assets/airflow/dags"
LIMITS = {"dagbag_import_timeout_s": "2", "dagbag_memory_mb": "512"}

# file name -> (source, line the finding must name, a substring of its message)
HOSTILE: dict[str, tuple[str, int, str]] = {
    "exits.py": ("from airflow import DAG\nimport sys\nsys.exit(3)\n", 3, "SystemExit: 3"),
    "os_exits.py": ("from airflow import DAG\nimport os\nos._exit(4)\n", 3, "os._exit(4) called"),
    "interrupts.py": ("from airflow import DAG\nraise KeyboardInterrupt\n", 2, "KeyboardInterrupt"),
    "loops.py": ("from airflow import DAG\nwhile True:\n    pass\n", 2, "DagBag import timeout"),
    "deaf_loop.py": (
        "from airflow import DAG\nimport signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True: pass\n",
        4,
        "did not end within the 2s timeout",
    ),
    "hogs_memory.py": (
        "from airflow import DAG\nchunks = []\nwhile True:\n    chunks.append(bytearray(1_000_000_000))\n",
        4,
        "MemoryError",
    ),
    "crashes.py": ("from airflow import DAG\nimport ctypes\nctypes.string_at(0)\n", 3, "SIGSEGV"),
}
ORDINARY = {
    "syntax.py": ("from airflow import DAG\nx = (\n", 2, "SyntaxError"),
    "missing_module.py": (
        "from airflow import DAG\nimport pandas_gbq_not_installed\n",
        2,
        "pandas_gbq_not_installed",
    ),
}
LOUD = (
    "from airflow import DAG\nimport sys, warnings\nprint('hello from a DAG')\n"
    "sys.stderr.write('and stderr')\nwarnings.warn('this DAG is deprecated')\n"
    + GOOD.format(dag_id="loud")
)


def by_file(findings: list[Finding], check_id: str = "airflow.import_error") -> dict[str, Finding]:
    return {
        f.file.removeprefix(f"{DAGS}/"): f for f in findings if f.check_id == check_id and f.file
    }


def assert_reported(findings: list[Finding], cases: dict[str, tuple[str, int, str]]) -> None:
    errors = by_file(findings)
    for name, (_source, line, text) in cases.items():
        assert name in errors, (name, [str(f) for f in findings])
        finding = errors[name]
        assert finding.severity is Severity.ERROR and text in finding.message, str(finding)
        assert finding.line == line, str(finding)
        assert "\n" not in finding.message


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_file_is_one_error_with_its_line_and_the_good_dag_still_loads(
    tmp_path: Path, name: str
) -> None:
    files = {
        name: HOSTILE[name][0],
        "good.py": GOOD.format(dag_id="good"),
        "syntax.py": ORDINARY["syntax.py"][0],
    }
    found = findings_for(tmp_path, files, workers=1, **LIMITS)
    assert_reported(found, {name: HOSTILE[name], "syntax.py": ORDINARY["syntax.py"]})
    assert "good.py" not in by_file(found)
    assert not [
        f for f in found if f.check_id in {"airflow.not_checked", "internal.airflow.dagbag"}
    ]


def test_a_bundle_with_one_of_each_reports_every_file(tmp_path: Path) -> None:
    files = {name: source for name, (source, _line, _text) in {**HOSTILE, **ORDINARY}.items()}
    files |= {
        "good.py": GOOD.format(dag_id="good"),
        "other_good.py": GOOD.format(dag_id="other_good"),
    }
    found = findings_for(tmp_path, files, workers=2, **LIMITS)
    assert_reported(found, {**HOSTILE, **ORDINARY})
    errors = by_file(found)
    assert "good.py" not in errors and "other_good.py" not in errors
    assert len(errors) == len(HOSTILE) + len(ORDINARY), sorted(errors)


def test_output_and_warnings_at_import_are_warnings_naming_the_line(tmp_path: Path) -> None:
    found = findings_for(
        tmp_path, {"loud.py": LOUD, "good.py": GOOD.format(dag_id="good")}, **LIMITS
    )
    (output,) = by_file(found, "airflow.import_output").values()
    assert (
        output.severity is Severity.WARNING
        and output.line == 3
        and output.file == f"{DAGS}/loud.py"
    )
    (warned,) = by_file(found, "airflow.import_warning").values()
    assert (
        warned.severity is Severity.WARNING
        and warned.line == 5
        and "this DAG is deprecated" in warned.message
    )
    assert not by_file(found)  # it loads: no import error


def test_file_names_with_spaces_and_non_ascii_and_non_utf8_bytes(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "daily load.py": GOOD.format(dag_id="spaces"),
        "überweisungen_é.py": "from airflow import DAG\nx = (\n",
        "latin1.py": 'from airflow import DAG\nname = "Überweisung"\n'.encode("latin-1"),
    }
    found = findings_for(tmp_path, files, workers=1, **LIMITS)
    errors = by_file(found)
    assert "daily load.py" not in errors
    assert errors["überweisungen_é.py"].line == 2
    latin1 = errors["latin1.py"]
    assert (
        latin1.severity is Severity.ERROR and "can't decode" in latin1.message and latin1.line == 2
    ), str(latin1)


def test_a_huge_file_is_refused_unparsed(tmp_path: Path) -> None:
    big = "from airflow import DAG\n" + (
        "# padding line for a generated module\n" * 1_400_000
    )  # ~53 MB
    found = findings_for(
        tmp_path, {"huge.py": big, "good.py": GOOD.format(dag_id="good")}, **LIMITS
    )
    (refused,) = by_file(found, "airflow.file_too_large").values()
    assert refused.severity is Severity.ERROR and "MB" in refused.message
    assert not by_file(found)


def test_ten_thousand_dag_files_are_all_parsed(tmp_path: Path) -> None:
    files = {
        f"generated/dag_{i:05d}.py": GOOD.format(dag_id=f"generated_{i}") for i in range(10_000)
    }
    files["generated/broken.py"] = "from airflow import DAG\nimport sys\nsys.exit(1)\n"
    found = findings_for(tmp_path, files, workers=2)
    assert [(f.check_id, f.file) for f in found if f.severity is Severity.ERROR] == [
        ("airflow.import_error", f"{DAGS}/generated/broken.py")
    ]
