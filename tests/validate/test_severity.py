"""Severity overrides from an environment's config: exact ids, prefixes, and the runner applying them."""

from __future__ import annotations

from pathlib import Path

from finsight_release.release.repository import ReleaseRepository
from finsight_release.settings import REPO_ROOT
from finsight_release.store.local import LocalObjectStore
from finsight_release.validate.airflow.rules import DagRulesCheck
from finsight_release.validate.check import ValidationContext
from finsight_release.validate.finding import Severity
from finsight_release.validate.runner import run_validation
from finsight_release.validate.severity import severity_for
from tests.mini_platform import make_platform

DYNAMIC = (
    "from datetime import datetime\nfrom airflow import DAG\n"
    "with DAG('d', start_date=datetime.now(), default_args={'owner': 'a', 'retries': 1}):\n    pass\n"
)


def test_exact_id_wins_over_prefix_and_longer_prefix_over_shorter() -> None:
    overrides = {
        "airflow.*": "info",
        "airflow.rule.*": "error",
        "airflow.rule.catchup_frequent": "warning",
    }
    assert severity_for("airflow.rule.catchup_frequent", overrides) is Severity.WARNING
    assert severity_for("airflow.rule.dynamic_start_date", overrides) is Severity.ERROR
    assert severity_for("airflow.slow_parse", overrides) is Severity.INFO
    assert severity_for("dbt.project", overrides) is None


def _rules_report(tmp_path: Path, env: str, config: str | None) -> Severity:
    platform = make_platform(tmp_path / env, {"release_assets/airflow/dags/dynamic.py": DYNAMIC})
    if config is not None:
        (platform / f"release_assets/config/{env}.yaml").write_text(config)
    artifacts = ReleaseRepository(LocalObjectStore(tmp_path / "store")).scan(platform)
    report = run_validation(
        ValidationContext(platform=platform, env=env), artifacts, [DagRulesCheck()]
    )
    (finding,) = [f for f in report.findings if f.check_id == "airflow.rule.dynamic_start_date"]
    return finding.severity


def test_a_rule_is_a_warning_by_default_and_the_env_config_raises_it(tmp_path: Path) -> None:
    assert _rules_report(tmp_path, "dev", None) is Severity.WARNING
    prod = (
        REPO_ROOT / "release_assets/config/prod.yaml"
    ).read_text()  # the reference prod raises it
    assert _rules_report(tmp_path, "prod", prod) is Severity.ERROR
    lowered = prod.replace(
        "airflow.rule.dynamic_start_date: error", "airflow.rule.dynamic_start_date: info"
    )
    assert _rules_report(
        tmp_path, "staging", lowered.replace("environment: prod", "environment: staging")
    ) is (Severity.INFO)


def test_a_broken_config_overrides_nothing(tmp_path: Path) -> None:
    assert _rules_report(tmp_path, "prod", "validation: [not, a, mapping]\n") is Severity.WARNING
