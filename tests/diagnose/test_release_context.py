"""What the failing release changed is evidence: lock diffs name the package and both versions."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from finsight_release.diagnose.categories import Category
from finsight_release.diagnose.classifier import DiagnosisContext, diagnose_text
from finsight_release.diagnose.release_context import (
    DependencyMove,
    ReleaseEvidence,
    lock_diff,
    mentioned_moves,
    parse_pins,
    release_evidence,
)
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from tests.mini_platform import make_platform

# A cron expression that croniter 1.x accepted and 2.x rejects, printed through Airflow's DagBag: the
# text says "DAG parse", the cause is the dependency that moved.
CRON_TEXT = (
    "Broken DAG: [/usr/local/airflow/dags/ingest_core.py] Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.11/site-packages/croniter/croniter.py", line 834, in _expand\n'
    "croniter.croniter.CroniterBadCronError: Exactly 5, 6 or 7 columns has to be specified for iterator expression."
)
REQUIREMENTS = "release_assets/airflow/requirements.txt"


def test_parse_pins_reads_each_lock_format() -> None:
    assert parse_pins(
        "requirements.txt", "# c\nCroniter==1.3.8 ; python_version>'3'\npandas>=2\n-r x.txt\n"
    ) == {"croniter": "1.3.8"}
    assert parse_pins("constraints-2.10.5.txt", "apache-airflow-providers-snowflake==6.6.1\n") == {
        "apache-airflow-providers-snowflake": "6.6.1"
    }
    uv_lock = '[[package]]\nname = "Croniter"\nversion = "2.0.1"\nsource = { registry = "x" }\n'
    assert parse_pins("uv.lock", uv_lock) == {"croniter": "2.0.1"}
    packages = (
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.1.1\n"
        "  - git: https://x/y.git\n    revision: 0.2.0\n"
    )
    assert parse_pins("packages.yml", packages) == {
        "dbt-labs/dbt-utils": "1.1.1",
        "https://x/y-git": "0.2.0",
    }
    hcl = 'provider "registry.terraform.io/hashicorp/aws" {\n  version     = "5.31.0"\n  hashes = []\n}\n'
    assert parse_pins(".terraform.lock.hcl", hcl) == {"hashicorp/aws": "5.31.0"}
    image = (
        "repository: 1.dkr.ecr.us-east-1.amazonaws.com/finsight/airflow\ndigest: sha256:"
        + "b" * 64
        + "\n"
    )
    assert parse_pins("image.yaml", image) == {"image:airflow": "sha256:bbbbbbbbbbbb"}


def test_lock_diff_names_package_and_both_versions() -> None:
    old = {"a/requirements.txt": "croniter==1.3.8\npandas==2.1.0\nrequests==2.31.0\n"}
    new = {"a/requirements.txt": "croniter==2.0.0\npandas==2.1.0\nhttpx==0.27.0\n"}
    moves = {m.package: m for m in lock_diff(old, new)}
    assert moves["croniter"] == DependencyMove("croniter", "1.3.8", "2.0.0", "a/requirements.txt")
    assert moves["httpx"].old is None and moves["requests"].new is None
    assert "pandas" not in moves
    assert moves["croniter"].describe() == "croniter 1.3.8 -> 2.0.0 (a/requirements.txt)"


def test_moved_provider_is_recognised_by_its_import_path() -> None:
    move = DependencyMove("apache-airflow-providers-cncf-kubernetes", "7.0.0", "10.0.0", "r.txt")
    text = "ModuleNotFoundError: No module named 'airflow.providers.cncf.kubernetes.operators.kubernetes_pod'"
    assert mentioned_moves(text.lower(), [move]) == [move]
    assert mentioned_moves("no module named 'cncf'", [move]) == []


def test_unchanged_code_and_a_moved_dependency_is_the_explanation() -> None:
    release = ReleaseEvidence(
        release_id="r-new",
        base_release_id="r-good",
        changed=frozenset({"requirements"}),
        moves=(DependencyMove("croniter", "1.3.8", "2.0.0", "airflow/requirements.txt"),),
        code_changed=False,
    )
    alone = diagnose_text(CRON_TEXT)
    assert alone.category == Category.DAG_PARSE
    with_release = diagnose_text(CRON_TEXT, DiagnosisContext(release=release))
    assert with_release.category == Category.DEPENDENCY_CONFLICT
    assert with_release.explanation is not None
    assert "unchanged code, a dependency moved: croniter 1.3.8 -> 2.0.0" in with_release.explanation
    assert with_release.dependency_moves == ["croniter 1.3.8 -> 2.0.0 (airflow/requirements.txt)"]
    assert with_release.next_steps[0].startswith("Explanation: unchanged code")


def test_a_code_change_keeps_the_text_verdict_when_no_moved_package_is_named() -> None:
    release = ReleaseEvidence(
        release_id="r-new",
        base_release_id="r-good",
        changed=frozenset({"dag_only", "requirements"}),
        moves=(DependencyMove("pandas", "2.1.0", "2.2.0", "airflow/requirements.txt"),),
        code_changed=True,
    )
    text = "Broken DAG: [/dags/a.py] invalid syntax (a.py, line 3)"
    diagnosis = diagnose_text(text, DiagnosisContext(release=release))
    assert diagnosis.category == Category.DAG_PARSE and diagnosis.explanation is None


@pytest.fixture
def two_releases(tmp_path: Path) -> tuple[ReleaseSystem, str, str]:
    """A system holding a good release and a failing one that only moved croniter."""
    system = ReleaseSystem(load_settings(home=tmp_path / "home", platform=tmp_path / "p1"))
    base = "apache-airflow-providers-snowflake==6.6.1\n"
    good, _ = system.repo.build(
        make_platform(tmp_path / "p1", {REQUIREMENTS: base + "croniter==1.3.8\n"}), "a"
    )
    bad, _ = system.repo.build(
        make_platform(tmp_path / "p2", {REQUIREMENTS: base + "croniter==2.0.0\n"}), "a", base=good
    )
    system.audit.append(
        actor="ci",
        action="promote",
        outcome="failed",
        release_id=bad.release_id,
        environment="dev",
        details={"error": CRON_TEXT},
    )
    return system, good.release_id, bad.release_id


def test_release_evidence_diffs_the_failing_release_against_the_last_good_one(
    two_releases: tuple[ReleaseSystem, str, str],
) -> None:
    system, good, bad = two_releases
    evidence = release_evidence(system, bad)
    assert evidence is not None and evidence.base_release_id == good
    assert evidence.changed == {"requirements"} and not evidence.code_changed
    assert [m.describe() for m in evidence.moves] == [
        "croniter 1.3.8 -> 2.0.0 (airflow/requirements/requirements.txt)"
    ]
    assert release_evidence(system, "r-0000000000000000") is None


def test_diagnose_release_id_names_the_moved_dependency(
    two_releases: tuple[ReleaseSystem, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finsight_release.cli import main

    _, _, bad = two_releases
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINSIGHT_PLATFORM", str(tmp_path / "p1"))
    result = CliRunner().invoke(main, ["diagnose", bad, "--json"])
    assert result.exit_code == 0, result.output
    assert '"category":"dependency_conflict"' in result.output
    assert "croniter 1.3.8 -> 2.0.0" in result.output
