"""The checks that judge a release: dbt tests, Soda v4 contracts and source freshness run against the
release an environment publishes; each result carries that release's id, and a blocking failure marks
it unhealthy there."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from finsight_release.envs.environment import Environment
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from finsight_release.targets.model_plan import PHYSICAL_SCHEMA
from tests.mini_platform import make_platform
from tests.targets.warehouse_project import PROJECT

DEV = Environment.DEV
LOADED = datetime(2024, 12, 31, 12, 0)  # half a day after the synthetic data's last loads

CHECKED = {
    **PROJECT,
    "dbt_project/models/_sources.yml": (
        "version: 2\nsources:\n  - name: raw\n    schema: raw\n"
        "    config:\n      loaded_at_field: _loaded_at\n      freshness:\n"
        "        warn_after: {count: 24, period: hour}\n        error_after: {count: 48, period: hour}\n"
        "    tables:\n      - name: core_banking__accounts\n      - name: payments__payments\n"
    ),
    "dbt_project/contracts/fct_payments.yml": (
        "dataset: finsight/analytics_marts_x/fct_payments\n"
        "columns:\n  - name: payment_id\n    data_type: BIGINT\n    checks:\n      - missing:\n"
        "      - duplicate:\n  - name: amount\n  - name: customer_id\n"
        "checks:\n  - schema:\n  - row_count:\n      threshold:\n        must_be_greater_than: 0\n"
    ),
    "dbt_project/contracts/raw__payments__payments.yml": (
        "dataset: finsight/raw/payments__payments\n"
        "columns:\n  - name: status\n    checks:\n      - invalid:\n"
        "          valid_values: [succeeded, failed, pending]\n"
        "checks:\n  - row_count:\n      threshold:\n        must_be_greater_than: 0\n"
    ),
}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> ReleaseSystem:
    root = tmp_path_factory.mktemp("judge")
    system = ReleaseSystem(load_settings(home=root / "home", actor="tester", require_validation=()))
    release, _ = system.build(make_platform(root / "platform", CHECKED))
    system.deployer.promote(DEV, release.release_id)
    return system


def test_a_healthy_release_passes_every_check_and_each_result_names_it(
    system: ReleaseSystem,
) -> None:
    judgement = system.judge(DEV, now=LOADED)
    release = system.board.read(DEV)[0].release_id
    kinds = {r.kind for r in judgement.results}
    assert kinds == {"dbt_test", "contract", "freshness"}
    assert judgement.healthy, judgement.summary()
    assert {r.release_id for r in judgement.results} == {release}
    health = system.deployer.ledger.health(DEV, release)  # health from evidence: now healthy
    assert health is not None and health.healthy and "checks passed" in health.reason
    assets = {r.asset for r in judgement.results if r.kind == "contract"}
    assert assets == {"analytics_marts_x.fct_payments", "raw.payments__payments"}
    event = system.audit.events(environment="dev", action="checks")[0]
    assert event["release_id"] == release and event["outcome"] == "passed"


def test_stale_sources_warn_after_one_day_and_are_inconclusive_after_two(
    system: ReleaseSystem,
) -> None:
    warned = system.judge(DEV, now=datetime(2025, 1, 1, 12, 0))
    stale = [r for r in warned.results if r.kind == "freshness" and not r.passed]
    assert stale and {r.severity for r in stale} == {"warn"} and warned.healthy
    release = system.board.read(DEV)[0].release_id
    assert release is not None
    late = system.judge(DEV, now=datetime(2025, 1, 4))
    # Late data is no verdict on the release: inconclusive, neither passed nor blocking.
    assert late.verdict == "inconclusive" and not late.blocking and not late.healthy
    assert {r.asset for r in late.inconclusive} == {
        "raw.core_banking__accounts",
        "raw.payments__payments",
    }
    assert (
        "late" in late.inconclusive[0].detail and "error after 48 h" in late.inconclusive[0].detail
    )
    health = system.deployer.ledger.health(DEV, release)
    assert health is not None and health.healthy  # found healthy before: a late load keeps it so
    assert system.audit.events(environment="dev", action="checks")[0]["outcome"] == "inconclusive"


def test_a_duplicate_key_in_a_mart_fails_the_contract_and_the_dbt_test_and_marks_it_unhealthy(
    system: ReleaseSystem,
) -> None:
    release = system.board.read(DEV)[0].release_id
    assert release is not None
    dbt = system.repo.get(release).artifact("dbt/project")
    assert dbt is not None
    fct = system.warehouse_target.plan(DEV, dbt, system.repo).by_id()["model.mini.fct_payments"]
    with duckdb.connect(str(system.warehouse_target.database(DEV))) as con:
        con.execute(
            f'insert into {PHYSICAL_SCHEMA}."{fct.physical_name}" '
            f'select * from {PHYSICAL_SCHEMA}."{fct.physical_name}" limit 1'
        )
    judgement = system.judge(DEV, now=LOADED)
    failed = {(r.kind, r.name) for r in judgement.blocking}
    assert ("contract", "payment_id.duplicate") in failed
    assert ("dbt_test", "unique_fct_payments_payment_id") in failed
    health = system.deployer.ledger.health(DEV, release)
    assert health is not None and health.found_unhealthy
    assert "blocking checks failed" in health.reason and "fct_payments" in health.reason
    assert system.audit.events(environment="dev", action="health")[0]["outcome"] == "unhealthy"


def test_nothing_published_is_one_clear_error(tmp_path: Path) -> None:
    from finsight_release.errors import NothingPublishedError

    system = ReleaseSystem(load_settings(home=tmp_path, actor="tester", require_validation=()))
    system.warehouse_target.database(DEV).parent.mkdir(parents=True)
    duckdb.connect(str(system.warehouse_target.database(DEV))).close()
    with pytest.raises(NothingPublishedError, match="dev publishes no release"):
        system.judge(DEV)
