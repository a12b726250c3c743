"""``finsight-release report``: a self-contained HTML page, laid out by a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsight_release import toolchain
from finsight_release.cli import main
from finsight_release.errors import ToolNotFoundError
from tests.mini_platform import make_platform

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_or_skip() -> Path:
    """Chromium, or a skip when scripts/setup.sh could not have installed it (not root, no apt-get);
    where it could, a missing Chromium is a failure (setup was not run)."""
    try:
        return toolchain.chromium()
    except ToolNotFoundError as exc:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip(f"{exc}; scripts/setup.sh cannot install it here (needs root and apt-get)")
        raise


def run_chromium(chromium: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [str(chromium), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_renders_in_headless_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = chromium_or_skip()
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINSIGHT_ACTOR", "alice")
    monkeypatch.setenv("FINSIGHT_REQUIRE_VALIDATION", "")
    cli = CliRunner()
    releases = []
    for n in (1, 2):
        tree = make_platform(
            tmp_path / f"p{n}",
            {"release_assets/airflow/dags/ingest_core.py": f"# v{n}\n"},
            "dbt_project",
        )
        built = cli.invoke(main, ["build", "--platform", str(tree)])
        releases.append(next(w for w in built.output.split() if w.startswith("r-")))
        for env in ("dev", "staging", "prod"):
            assert cli.invoke(main, ["promote", env, releases[-1]]).exit_code == 0
            assert cli.invoke(main, ["checks", env]).exit_code == 0
    assert cli.invoke(main, ["rollback", "prod"]).exit_code == 0

    page = tmp_path / "out" / "report.html"
    result = cli.invoke(main, ["report", "--out", str(page), "--emit-metrics", "--json"])
    assert result.exit_code == 0, result.output
    weeks = {w["environment"]: w for w in json.loads(result.output)}
    assert weeks["prod"]["deployments"] == 2 and weeks["prod"]["change_failure_rate"] == 0.5
    assert weeks["dev"]["deployments"] == 2 and weeks["dev"]["change_failure_rate"] == 0.0
    emitted = [
        json.loads(line)
        for line in (tmp_path / "home" / "metrics.jsonl").read_text().splitlines()
        if "DeploymentFrequency" in line
    ]
    assert {r["Environment"] for r in emitted} == {"dev", "staging", "prod"}

    text = page.read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", text), (
        "the page must load nothing from outside"
    )
    assert "Content-Security-Policy" in text and releases[1] in text

    dom = run_chromium(
        chromium, tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = re.search(r'data-rendered="charts=(\d+) marks=(\d+)"', dom.stdout)
    assert rendered, f"the page's render check did not run: {dom.stdout[:300]!r}"
    charts, marks = map(int, rendered.groups())
    # timeline + 4 trends + slowest steps; 7 go-lives on the timeline (one a rollback), trend points,
    # one bar per step: every one laid out with a non-empty box.
    assert charts == 6
    assert marks >= 7 + 4 * 3 + 5

    shot = tmp_path / "report.png"
    done = run_chromium(
        chromium, tmp_path, "--window-size=1000,1400", f"--screenshot={shot}", page.as_uri()
    )
    assert done.returncode == 0 and shot.stat().st_size > 20_000, done.stderr[-2000:]


def test_report_on_an_empty_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "home"))
    page = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "--out", str(page)])
    assert result.exit_code == 0 and "0 deployments" in result.output
    assert "no deployment in the audit log" in page.read_text()
