"""``finsight-release report``: one self-contained HTML page on how releases are going.

Inline SVG charts (no script library, no font, no image fetched: the page's Content-Security-Policy
forbids every outside load): the release timeline per environment, the DORA trends per week, and the
slowest steps from the step metrics. A small inline script counts what the browser laid out and
writes it to ``<body data-rendered=...>``, which the headless-Chromium test reads back.
"""

from __future__ import annotations

import html
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from finsight_release.observe.dora import DoraReport, DoraWeek

ENV_COLORS = {"dev": "#4e79a7", "staging": "#f28e2b", "prod": "#59a14f"}
KIND_COLORS = {"promote": None, "rollback": "#e15759", "fail": "#b07aa1"}
WIDTH = 900


@dataclass(frozen=True)
class StepTiming:
    """How long one step takes: runs, median and slowest seconds."""

    step: str
    runs: int
    median_s: float
    max_s: float


def step_timings(records: Iterable[dict[str, Any]], top: int = 12) -> list[StepTiming]:
    """The ``top`` slowest steps (by median) of EMF step records (those with ``Step`` and ``Duration``)."""
    durations: dict[str, list[float]] = defaultdict(list)
    for record in records:
        if "Step" in record and isinstance(record.get("Duration"), int | float):
            durations[str(record["Step"])].append(float(record["Duration"]))
    timings = [
        StepTiming(step, len(values), statistics.median(values), max(values))
        for step, values in durations.items()
    ]
    return sorted(timings, key=lambda t: (-t.median_s, t.step))[:top]


def read_step_records(path: Path | None) -> list[dict[str, Any]]:
    """The EMF records of a local metrics file (none when there is no file)."""
    if path is None or not path.is_file():
        return []
    records = []
    with path.open(errors="replace") as fh:
        for line in fh:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                records.append(value)
    return records


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _timeline(report: DoraReport) -> str:
    """One lane per environment; a tick per go-live (rollbacks and failed promotions colored)."""
    deployments = report.deployments
    envs = [e for e in ENV_COLORS if any(d.environment == e for d in deployments)]
    height = 40 + 40 * max(len(envs), 1)
    parts = [
        f'<svg class="chart" id="timeline" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-label="release timeline per environment">'
    ]
    if not deployments:
        parts.append('<text x="20" y="40">no deployment in the audit log</text></svg>')
        return "".join(parts)
    start = min(d.at for d in deployments).timestamp()
    span = max(max(d.at for d in deployments).timestamp() - start, 1.0)
    left, right = 90, WIDTH - 20
    for lane, env in enumerate(envs):
        y = 30 + lane * 40
        parts.append(
            f'<text x="10" y="{y + 5}">{_esc(env)}</text>'
            f'<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="#ccc"/>'
        )
        for d in (d for d in deployments if d.environment == env):
            x = left + (d.at.timestamp() - start) / span * (right - left)
            color = KIND_COLORS[d.kind] or ENV_COLORS[env]
            parts.append(
                f'<rect class="mark" x="{x - 2:.1f}" y="{y - 12}" width="4" height="24" '
                f'fill="{color}"><title>{_esc(d.kind)} {_esc(d.release_id)} by {_esc(d.actor)} at '
                f"{_esc(d.at.isoformat(timespec='seconds'))}</title></rect>"
            )
    first, last = min(d.at for d in deployments), max(d.at for d in deployments)
    parts.append(
        f'<text x="{left}" y="{height - 5}">{_esc(first.isoformat(timespec="minutes"))}</text>'
        f'<text x="{right}" y="{height - 5}" text-anchor="end">'
        f"{_esc(last.isoformat(timespec='minutes'))}</text></svg>"
    )
    return "".join(parts)


def _trend(report: DoraReport, title: str, value: str, fmt: str) -> str:
    """A line per environment of one DORA metric over the weeks."""
    weeks = sorted({w.week for w in report.weeks})
    height, left, right, top, bottom = 200, 60, 420, 30, 170
    parts = [
        f'<svg class="chart trend" viewBox="0 0 440 {height}" width="440" height="{height}" '
        f'role="img" aria-label="{_esc(title)}"><text x="10" y="18" font-weight="bold">'
        f"{_esc(title)}</text>"
    ]
    points: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for w in report.weeks:
        v = getattr(w, value)
        if v is not None:
            points[w.environment].append((weeks.index(w.week), float(v)))
    peak = max((v for series in points.values() for _, v in series), default=0.0) or 1.0
    parts.append(
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>'
        f'<text x="{left - 5}" y="{top + 5}" text-anchor="end">{_esc(fmt.format(peak))}</text>'
        f'<text x="{left - 5}" y="{bottom}" text-anchor="end">0</text>'
    )
    step = (right - left) / max(len(weeks) - 1, 1)
    for i, week in enumerate(weeks):
        if len(weeks) <= 8 or i % max(len(weeks) // 8, 1) == 0:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{bottom + 15}" font-size="10" '
                f'text-anchor="middle">{_esc(week[5:])}</text>'
            )
    for env, series in points.items():
        coords = [(left + i * step, bottom - v / peak * (bottom - top)) for i, v in sorted(series)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        color = ENV_COLORS.get(env, "#333")
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        for (x, y), (_, v) in zip(coords, sorted(series), strict=True):
            parts.append(
                f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                f"<title>{_esc(env)}: {_esc(fmt.format(v))}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _slowest(timings: list[StepTiming]) -> str:
    height = 30 + 22 * max(len(timings), 1)
    parts = [
        f'<svg class="chart" id="slowest" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-label="slowest steps">'
    ]
    if not timings:
        parts.append('<text x="20" y="30">no step metrics recorded</text></svg>')
        return "".join(parts)
    peak = max(t.max_s for t in timings) or 1.0
    left, right = 220, WIDTH - 120
    for i, t in enumerate(timings):
        y = 15 + i * 22
        median_w = max(t.median_s / peak * (right - left), 1)
        max_w = max(t.max_s / peak * (right - left), 1)
        parts.append(
            f'<text x="{left - 8}" y="{y + 12}" text-anchor="end">{_esc(t.step)}</text>'
            f'<rect x="{left}" y="{y}" width="{max_w:.1f}" height="16" fill="#d3d3d3"/>'
            f'<rect class="mark" x="{left}" y="{y}" width="{median_w:.1f}" height="16" '
            f'fill="#4e79a7"><title>{_esc(t.step)}: median {_duration(t.median_s)}, max '
            f"{_duration(t.max_s)}, {t.runs} runs</title></rect>"
            f'<text x="{left + max_w + 6:.1f}" y="{y + 12}">{_duration(t.median_s)} '
            f"(max {_duration(t.max_s)})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(weeks: list[DoraWeek]) -> str:
    rows = "".join(
        f"<tr><td>{_esc(w.week)}</td><td>{_esc(w.environment)}</td><td>{w.deployments}</td>"
        f"<td>{_duration(w.lead_time_s)}</td><td>"
        f"{'-' if w.change_failure_rate is None else f'{w.change_failure_rate:.0%}'}</td>"
        f"<td>{_duration(w.time_to_restore_s)}</td></tr>"
        for w in weeks
    )
    return (
        '<table id="dora"><thead><tr><th>week</th><th>env</th><th>deployments</th>'
        "<th>lead time (median)</th><th>change failure rate</th><th>time to restore (median)</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


# Counts the laid-out chart marks (getBBox needs layout): the test reads it from the DOM.
_RENDER_CHECK = """
window.addEventListener('load', function () {
  var charts = document.querySelectorAll('svg.chart');
  var drawn = 0;
  document.querySelectorAll('svg.chart .mark').forEach(function (m) {
    var box = m.getBBox(); if (box.width > 0 && box.height > 0) { drawn += 1; }
  });
  document.body.setAttribute('data-rendered', 'charts=' + charts.length + ' marks=' + drawn);
});
"""


def render_report(report: DoraReport, timings: list[StepTiming], generated_at: datetime) -> str:
    """The HTML page: timeline, DORA trends and table, slowest steps."""
    trends = "".join(
        _trend(report, title, attr, fmt)
        for title, attr, fmt in (
            ("Deployments per week", "deployments", "{:.0f}"),
            ("Lead time, commit to live (s)", "lead_time_s", "{:.0f}"),
            ("Change failure rate", "change_failure_rate", "{:.0%}"),
            ("Time to restore (s)", "time_to_restore_s", "{:.0f}"),
        )
    )
    legend = (
        " ".join(f'<span style="color:{c}">&#9632; {e}</span>' for e, c in ENV_COLORS.items())
        + ' <span style="color:#e15759">&#9632; rollback</span> <span style="color:#b07aa1">'
    )
    legend += "&#9632; failed promotion</span>"
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>FinSight releases: report</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
svg text {{ font-size: 12px; fill: #222; }}
table {{ border-collapse: collapse; margin: 12px 0; }}
td, th {{ border: 1px solid #ddd; padding: 4px 8px; text-align: right; }}
.trends {{ display: flex; flex-wrap: wrap; gap: 8px; }}
</style></head>
<body data-rendered="no">
<h1>FinSight releases</h1>
<p>Generated {_esc(generated_at.isoformat(timespec="seconds"))} from the audit log and step metrics.
{len(report.deployments)} deployments, {len(report.weeks)} environment-weeks.</p>
<h2>Release timeline per environment</h2><p>{legend}</p>
{_timeline(report)}
<h2>DORA trends per week</h2><div class="trends">{trends}</div>
{_table(report.weeks)}
<h2>Slowest steps</h2>
{_slowest(timings)}
<script>{_RENDER_CHECK}</script>
</body></html>
"""
