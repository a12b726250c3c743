"""The whole loop on a real dagster-webserver and dagster-daemon: CI builds through GraphQL, sensors
promote dev and staging, a person promotes prod, a failing check downstream of prod's change rolls
it back. Slow (two Dagster services and their code servers), so one test drives it all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.automation.release_loop import run_loop


@pytest.mark.slow
def test_release_loop_through_graphql_and_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "FINSIGHT_HOME",
        "FINSIGHT_REQUIRE_VALIDATION",
        "FINSIGHT_BAKE_S",
        "FINSIGHT_ACTOR",
    ):
        monkeypatch.delenv(
            name, raising=False
        )  # restored after; run_loop sets them for the services
    times = run_loop(tmp_path)
    assert times.submit_to_prod_s > 0 and times.check_fail_to_rollback_s > 0
