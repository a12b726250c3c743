"""`finsight-release rollback` says the restored tables are being refreshed, and `status` says which and
as of when, until the background refresh has brought them up to date."""

from __future__ import annotations

from pathlib import Path

import duckdb
from click.testing import CliRunner

from finsight_release.cli import main
from finsight_release.settings import load_settings
from finsight_release.system import ReleaseSystem
from tests.mini_platform import make_platform
from tests.targets.warehouse_project import DEV, PROJECT, STG_ACCOUNTS_V2


def test_rollback_and_status_report_the_background_refresh(tmp_path: Path) -> None:
    home = tmp_path / "home"
    system = ReleaseSystem(load_settings(home=home, actor="tester", require_validation=()))
    v1, _ = system.build(make_platform(tmp_path / "v1", PROJECT))
    v2, _ = system.build(make_platform(tmp_path / "v2", {**PROJECT, **STG_ACCOUNTS_V2}))
    system.deployer.promote(DEV, v1.release_id)
    system.deployer.promote(DEV, v2.release_id)
    env = {"FINSIGHT_HOME": str(home), "FINSIGHT_REQUIRE_VALIDATION": "", "FINSIGHT_ACTOR": "ops"}
    rolled = CliRunner().invoke(main, ["rollback", "dev"], env=env)
    assert rolled.exit_code == 0, rolled.output
    assert f"rolled back to {v1.release_id}" in rolled.output
    assert f"warehouse dev ({v1.release_id}): " in rolled.output
    assert "dim_accounts, fct_payments" in rolled.output
    done = system.warehouse_target.wait_for_refresh(DEV, timeout_s=300)
    assert done is not None and done["state"] == "done", done
    status = CliRunner().invoke(main, ["status", "--no-history"], env=env)
    assert status.exit_code == 0, status.output
    assert f"refreshed at {done['finished_at']}" in status.output
    with duckdb.connect(str(system.warehouse_target.database(DEV)), read_only=True) as con:
        staging = con.execute("select count(*) from analytics.stg_payments").fetchone()
        marts = con.execute("select count(*) from analytics_marts_x.fct_payments").fetchone()
    assert staging == marts
