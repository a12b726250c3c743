"""Settings from FINSIGHT_* variables: the checks clock the post-deploy judgement reads."""

from __future__ import annotations

from datetime import datetime

import pytest

from finsight_release.errors import ConfigError
from finsight_release.settings import load_settings


def test_the_checks_clock_is_now_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSIGHT_CHECKS_CLOCK", raising=False)
    assert load_settings().checks_clock is None
    monkeypatch.setenv("FINSIGHT_CHECKS_CLOCK", "2024-12-31T12:00:00")
    assert load_settings().checks_clock == datetime(2024, 12, 31, 12)


def test_a_checks_clock_that_is_not_a_time_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FINSIGHT_CHECKS_CLOCK", "yesterday")
    with pytest.raises(ConfigError, match="FINSIGHT_CHECKS_CLOCK must be an ISO 8601 time"):
        load_settings()
