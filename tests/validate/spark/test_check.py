"""``spark.package`` for real: wheels built by setuptools, dependencies installed by uv, entry points imported and
smoke-run by PySpark 3.5 in local mode (.venvs/spark from scripts/setup.sh, Java 17), on the 15 reference jobs and on
copies broken one way each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from finsight_release.release.artifact import Artifact, ArtifactKind
from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT, load_settings
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.finding import Finding, Severity
from finsight_release.validate.spark.check import ALL_JOBS, SparkJobsCheck

SPARK_PYTHON = load_settings().spark_python
REFERENCE = REPO_ROOT / "release_assets" / "spark"
BASE_JOB = "merchant_risk_scoring"  # CSV sample, no dependency beyond pyspark
MAIN = f"src/{BASE_JOB}/main.py"


def spark_artifacts(platform: Path, store: Path) -> list[Artifact]:
    return [
        a
        for a in ReleaseRepository(LocalObjectStore(store)).scan(platform)
        if a.kind is ArtifactKind.SPARK_JOB
    ]


def run_check(platform: Path, store: Path, python: Path | None = SPARK_PYTHON) -> list[Finding]:
    ctx = ValidationContext(platform=platform, spark_python=python)
    return SparkJobsCheck().run(ctx, spark_artifacts(platform, store))


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if needle in line)


def edit(path: Path, old: str, new: str) -> str:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
    return path.read_text()


def add_job(platform: Path, name: str, base: str = BASE_JOB) -> Path:
    job = platform / "release_assets" / "spark" / name
    shutil.copytree(
        REFERENCE / base, job, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info")
    )
    return job


def broken_platform(root: Path) -> tuple[Path, dict[str, int]]:
    """One good job that imports yaml (declared), then copies of a reference job broken one way each.

    Jobs run in name order, so ``b_undeclared_import`` comes right after a job whose overlay had yaml.
    Returns the platform and the line each broken job's finding must point at.
    """
    lines: dict[str, int] = {}
    add_job(root, "a_declares_yaml", "aml_transaction_screening")
    job = add_job(root, "b_undeclared_import")
    text = edit(
        job / MAIN,
        "import argparse\n",
        "import argparse\n\nimport yaml  # not declared in pyproject.toml\n",
    )
    lines["b_undeclared_import"] = line_of(text, "import yaml")
    job = add_job(root, "c_syntax_error")
    text = edit(job / MAIN, "def transform(", "def broken(:\n    pass\n\n\ndef transform(")
    lines["c_syntax_error"] = line_of(text, "def broken(:")
    job = add_job(root, "d_unresolvable_dependency")
    text = edit(
        job / "pyproject.toml",
        'dependencies = ["pyspark>=3.5,<4"]',
        'dependencies = [\n    "pyspark>=3.5,<4",\n    "finsight-no-such-package-anywhere>=1",\n]',
    )
    lines["d_unresolvable_dependency"] = line_of(text, "finsight-no-such-package-anywhere")
    job = add_job(root, "e_needs_other_spark")
    text = edit(job / "pyproject.toml", '"pyspark>=3.5,<4"', '"pyspark>=4,<5"')
    lines["e_needs_other_spark"] = line_of(text, "pyspark>=4")
    job = add_job(root, "f_raises_at_run_time")
    text = edit(job / MAIN, 'F.avg((~F.col("card_present"))', 'F.avg((~F.col("card_present_flag"))')
    lines["f_raises_at_run_time"] = line_of(text, "features = payments.groupBy")
    job = add_job(root, "g_missing_sample")
    (job / "sample" / "payments.csv").unlink()
    lines["g_missing_sample"] = line_of((job / "job.yaml").read_text(), "sample:")
    job = add_job(root, "h_does_not_build")
    text = edit(job / "pyproject.toml", 'version = "1.6.0"', 'version = "one point six"')
    lines["h_does_not_build"] = line_of(text, "one point six")
    job = add_job(root, "i_invalid_toml")
    text = edit(job / "pyproject.toml", "[project.scripts]", "[project.scripts")
    lines["i_invalid_toml"] = line_of(text, "[project.scripts")
    job = add_job(root, "j_empty_output")
    sample = job / "sample" / "payments.csv"
    sample.write_text(sample.read_text().splitlines()[0] + "\n")  # the header only
    return root, lines


@pytest.fixture(scope="module")
def reference_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[Finding], dict[str, str], dict[str, str]]:
    store = tmp_path_factory.mktemp("store")
    before = {a.name: a.digest for a in spark_artifacts(REPO_ROOT, store)}
    findings = run_check(REPO_ROOT, store)
    after = {a.name: a.digest for a in spark_artifacts(REPO_ROOT, store)}
    return findings, before, after


@pytest.fixture(scope="module")
def broken_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, list[Finding]], dict[str, int]]:
    tmp = tmp_path_factory.mktemp("broken")
    platform, lines = broken_platform(tmp / "platform")
    by_job: dict[str, list[Finding]] = {}
    for finding in run_check(platform, tmp / "store"):
        by_job.setdefault(finding.artifact.removeprefix("spark/"), []).append(finding)
    return by_job, lines


def only(findings: list[Finding], check_id: str) -> Finding:
    assert [f.check_id for f in findings] == [check_id], [str(f) for f in findings]
    return findings[0]


def test_all_fifteen_reference_jobs_build_import_and_smoke_run(reference_run) -> None:  # noqa: ANN001
    findings, before, _ = reference_run
    assert len(before) == 15
    # Not even a warning: Java and the runtime were found, so every job was really smoke-run.
    assert findings == [], [str(f) for f in findings]


def test_the_tree_is_never_written(reference_run) -> None:  # noqa: ANN001
    _, before, after = reference_run
    assert before == after  # a build in place would have left build/ and *.egg-info in the jobs
    assert not list(REFERENCE.glob("*/build")) and not list(REFERENCE.glob("*/src/*.egg-info"))


def test_a_declared_dependency_is_importable(broken_run) -> None:  # noqa: ANN001
    by_job, _ = broken_run
    assert "a_declares_yaml" not in by_job, [str(f) for f in by_job.get("a_declares_yaml", [])]


def test_undeclared_import_fails_even_after_a_job_that_had_it(broken_run) -> None:  # noqa: ANN001
    by_job, lines = broken_run
    finding = only(by_job["b_undeclared_import"], "spark.entry_point")
    assert finding.severity is Severity.ERROR
    assert "No module named 'yaml'" in finding.message
    assert finding.file == f"release_assets/spark/b_undeclared_import/{MAIN}"
    assert finding.line == lines["b_undeclared_import"]
    assert finding.hint and "[project].dependencies" in finding.hint


def test_syntax_error_is_located(broken_run) -> None:  # noqa: ANN001
    by_job, lines = broken_run
    finding = only(by_job["c_syntax_error"], "spark.entry_point")
    assert "SyntaxError" in finding.message
    assert (finding.file, finding.line) == (
        f"release_assets/spark/c_syntax_error/{MAIN}",
        lines["c_syntax_error"],
    )


def test_dependency_that_does_not_resolve(broken_run) -> None:  # noqa: ANN001
    by_job, lines = broken_run
    finding = only(by_job["d_unresolvable_dependency"], "spark.dependency")
    assert "finsight-no-such-package-anywhere" in finding.message
    assert finding.file == "release_assets/spark/d_unresolvable_dependency/pyproject.toml"
    assert finding.line == lines["d_unresolvable_dependency"]


def test_dependency_the_spark_runtime_cannot_satisfy(broken_run) -> None:  # noqa: ANN001
    by_job, lines = broken_run
    finding = only(by_job["e_needs_other_spark"], "spark.dependency")
    assert ">=4" in finding.message and "provides pyspark 3.5" in finding.message
    assert finding.line == lines["e_needs_other_spark"]


def test_transform_failing_at_run_time_names_the_exception_and_the_line(broken_run) -> None:  # noqa: ANN001
    by_job, lines = broken_run
    finding = only(by_job["f_raises_at_run_time"], "spark.smoke")
    assert "card_present_flag" in finding.message and "UNRESOLVED_COLUMN" in finding.message
    assert "\n" not in finding.message
    assert finding.file == f"release_assets/spark/f_raises_at_run_time/{MAIN}"
    assert finding.line == lines["f_raises_at_run_time"]


def test_missing_sample(broken_run) -> None:  # noqa: ANN001
    by_job, lines = broken_run
    finding = only(
        by_job["g_missing_sample"], "spark.sample_missing"
    )  # still built and imported: nothing else
    assert finding.file == "release_assets/spark/g_missing_sample/job.yaml"
    assert finding.line == lines["g_missing_sample"]


def test_pyproject_the_backend_refuses(broken_run) -> None:  # noqa: ANN001
    by_job, lines = broken_run
    finding = only(by_job["h_does_not_build"], "spark.build")
    assert "project.version" in finding.message  # setuptools' own validation of the pyproject ran
    assert finding.file == "release_assets/spark/h_does_not_build/pyproject.toml"
    assert finding.line == lines["h_does_not_build"]


def test_pyproject_that_is_not_toml(broken_run) -> None:  # noqa: ANN001
    by_job, lines = broken_run
    finding = only(by_job["i_invalid_toml"], "spark.build")
    assert "not valid TOML" in finding.message
    assert finding.file == "release_assets/spark/i_invalid_toml/pyproject.toml"
    assert finding.line == lines["i_invalid_toml"]


def test_empty_output(broken_run) -> None:  # noqa: ANN001
    by_job, _ = broken_run
    finding = only(by_job["j_empty_output"], "spark.empty_output")
    assert finding.file == "release_assets/spark/j_empty_output/job.yaml"


def test_without_java_the_smoke_run_is_skipped_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = tmp_path / "platform"
    add_job(platform, "good")
    job = add_job(platform, "syntax_error")
    edit(job / MAIN, "def transform(", "def broken(:\n    pass\n\n\ndef transform(")
    job = add_job(platform, "raises_at_run_time")
    edit(job / MAIN, 'F.avg((~F.col("card_present"))', 'F.avg((~F.col("card_present_flag"))')
    monkeypatch.setenv(
        "JAVA_HOME", str(tmp_path / "no-jdk")
    )  # a JAVA_HOME without java: no Java, as for Spark
    findings = run_check(platform, tmp_path / "store")
    by_id = {f.check_id: f for f in findings}
    assert sorted(by_id) == ["spark.entry_point", "spark.java_missing"], [str(f) for f in findings]
    warning = by_id["spark.java_missing"]
    assert warning.severity is Severity.WARNING and warning.artifact == ALL_JOBS
    assert "not smoke-run" in warning.message and "Java" in warning.message
    assert by_id["spark.entry_point"].artifact == "spark/syntax_error"  # imports are still checked


def test_without_the_spark_runtime_builds_still_run_and_one_warning_says_run_setup(
    tmp_path: Path,
) -> None:
    platform = tmp_path / "platform"
    add_job(platform, "good")
    job = add_job(platform, "does_not_build")
    edit(job / "pyproject.toml", 'version = "1.6.0"', 'version = "one point six"')
    findings = run_check(
        platform, tmp_path / "store", python=tmp_path / "no-such-venv" / "bin" / "python"
    )
    assert sorted((f.check_id, f.artifact) for f in findings) == [
        ("spark.build", "spark/does_not_build"),
        ("spark.runtime_missing", ALL_JOBS),
    ]
    warning = next(f for f in findings if f.check_id == "spark.runtime_missing")
    assert warning.severity is Severity.WARNING and "scripts/setup.sh" in (warning.hint or "")
