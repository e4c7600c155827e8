"""The debt report as one self-contained HTML page: inline CSS, inline SVG charts, a little script.

Nothing is fetched (no CDN, no fonts): the page must open from a CI artifact or
an email attachment. The charts are drawn here, in SVG, so the page reads fine
without JavaScript; the script only adds a computed summary, the charts'
rendered sizes (``data-rendered-width``) and sortable table columns, and marks
``<body data-rendered="js">`` when it has run.
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Final

from martech_bus.adapter.manifest import RISK_KEYS, SCORE_KEYS
from martech_bus.governance.matrix import HYBRID_MAX, SPRINT_MAX
from martech_bus.governance.model import CATEGORIES, DebtReport, IntegrationDebt

CATEGORY_COLOURS: Final = {
    "route": "#4c78a8",
    "expiry": "#e45756",
    "coverage": "#f58518",
    "backlog": "#b279a2",
    "rollout": "#72b7b2",
    "ownership": "#eeca3b",
    "governance": "#54a24b",
}
#: Tag text colour where white would not read on the category colour.
TAG_INK: Final = {"ownership": "#1f2933", "rollout": "#1f2933"}
SCORE_COLOURS: Final = ("#9ecae9", "#6baed6", "#3182bd", "#08519c")
RISK_COLOURS: Final = {1: "#e5f5e0", 2: "#fff3bf", 3: "#fdd49e", 4: "#fc8d59", 5: "#d7301f"}
STATUS_MARKS: Final = {"pass": "\u2713", "fail": "\u2717", "n/a": "\u2013"}

_CSS: Final = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #f7f9fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: var(--bg); }
main { max-width: 1040px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 4px; font-size: 28px; }
h2 { margin: 32px 0 8px; font-size: 20px; }
h3 { margin: 0 0 6px; font-size: 16px; }
.muted { color: var(--muted); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px;
        margin: 12px 0; }
.summary { display: flex; gap: 24px; align-items: center; flex-wrap: wrap; }
.summary dl { display: grid; grid-template-columns: auto auto; gap: 2px 16px; margin: 0; }
.summary dt { color: var(--muted); }
.summary dd { margin: 0; font-weight: 600; }
#js-summary { font-weight: 600; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.score { font-weight: 700; }
.bad { color: #b42318; } .warn { color: #b54708; } .good { color: #067647; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 12px; }
ul.findings, ul.checks { margin: 6px 0; padding-left: 0; list-style: none; }
ul.findings li { padding: 2px 0; }
.points { display: inline-block; min-width: 3.2em; font-weight: 700; }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; color: #fff;
       margin-right: 6px; }
ul.checks li.fail { color: #b42318; } ul.checks li.na { color: var(--muted); }
.mark { display: inline-block; width: 1.2em; font-weight: 700; }
footer { margin-top: 32px; color: var(--muted); font-size: 13px; }
"""

_SCRIPT: Final = """
(function () {
  var data = JSON.parse(document.getElementById("debt-data").textContent);
  var items = data.integrations;
  var ready = items.filter(function (item) { return item.ready; }).length;
  var worst = items.reduce(function (a, b) { return b.score > (a ? a.score : -1) ? b : a; }, null);
  var points = 0;
  items.forEach(function (item) { points += item.score; });
  var mean = items.length ? Math.round(points / items.length) : 0;
  var text = ready + " of " + items.length + " integrations ready to migrate; mean score " + mean;
  if (worst) { text += "; worst: " + worst.name + " (" + worst.score + ")"; }
  var summary = document.getElementById("js-summary");
  summary.textContent = text;
  summary.setAttribute("data-ready", String(ready));
  summary.setAttribute("data-mean", String(mean));
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    svg.setAttribute("data-rendered-width", String(Math.round(box.width)));
    svg.setAttribute("data-rendered-height", String(Math.round(box.height)));
  });
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("th");
    heads.forEach(function (th, column) {
      th.addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") !== "descending";
        heads.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].getAttribute("data-sort") || a.cells[column].textContent;
          var y = b.cells[column].getAttribute("data-sort") || b.cells[column].textContent;
          var nx = parseFloat(x), ny = parseFloat(y);
          var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  document.body.setAttribute("data-rendered", "js");
})();
"""


def render_html(report: DebtReport) -> str:
    """The whole page."""
    data = json.dumps(report.to_dict(), ensure_ascii=False).replace("<", "\\u003c")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Integration debt {report.today}</title>",
        f"<style>{_CSS}</style></head>",
        '<body data-rendered="static"><main>',
        "<h1>Integration debt</h1>",
        f'<p class="muted">as of {report.today} &middot; {len(report.integrations)} '
        "integrations (adapters and gateway sources)</p>",
        _summary(report),
        "<h2>Debt score by integration</h2>",
        '<div class="card">',
        _score_chart(report),
        "</div>",
        "<h2>Decision matrix</h2>",
        '<p class="muted">Scores 0-3 per dimension; their total calls for a cadence: '
        f"&le; {SPRINT_MAX} sprint, {SPRINT_MAX + 1}-{HYBRID_MAX} hybrid, "
        f"&ge; {HYBRID_MAX + 1} marathon.</p>",
        '<div class="card">',
        _matrix_chart(report),
        "</div>",
        "<h2>Risks</h2>",
        '<p class="muted">Each risk bucket from 1 (low) to 5 (high).</p>',
        '<div class="card">',
        _risk_chart(report),
        "</div>",
        "<h2>Integrations</h2>",
        '<p class="muted">Click a column to sort.</p>',
        _table(report),
        "<h2>Findings and migration readiness</h2>",
        '<div class="grid">',
        *(_details(item) for item in report.integrations),
        "</div>",
        _notes(report),
        "<footer>Integration Debt Score: the points of an integration's findings, capped at "
        "100; the overall score is their mean. See docs/governance.md for the formula.</footer>",
        "</main>",
        f'<script type="application/json" id="debt-data">{data}</script>',
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(report: DebtReport) -> str:
    worst = report.worst()
    dead = sum(i.backlog.count for i in report.integrations if i.kind == "adapter")
    held = sum(i.backlog.count for i in report.integrations if i.kind == "source")
    rows = [
        ("integrations", str(len(report.integrations))),
        ("ready to migrate", str(report.ready_count())),
        ("on the bus", str(sum(item.stage == "bus" for item in report.integrations))),
        ("worst", "-" if worst is None else f"{worst.name} ({worst.score})"),
        ("dead letters waiting", str(dead)),
        ("quarantined items", str(held)),
    ]
    listing = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return (
        '<div class="card summary">'
        f"{_gauge(report.score)}"
        f"<dl>{listing}</dl>"
        '<p id="js-summary"></p>'
        "</div>"
    )


def _gauge(score: int) -> str:
    """A half-circle gauge of the overall score (0-100)."""
    radius, cx, cy = 70, 90, 90
    length = math.pi * radius
    arc = f"M {cx - radius} {cy} A {radius} {radius} 0 0 1 {cx + radius} {cy}"
    colour = "#d7301f" if score >= 50 else "#f59f00" if score >= 25 else "#2f9e44"
    filled = length * min(max(score, 0), 100) / 100
    return (
        '<svg class="chart" id="chart-overall" width="180" height="110" viewBox="0 0 180 110" '
        'role="img" aria-label="overall debt score">'
        f"<title>overall debt score {score} of 100</title>"
        f'<path d="{arc}" fill="none" stroke="#e4e7eb" stroke-width="18"/>'
        f'<path d="{arc}" fill="none" stroke="{colour}" stroke-width="18" '
        f'stroke-dasharray="{filled:.1f} {length:.1f}"/>'
        f'<text x="{cx}" y="{cy - 8}" text-anchor="middle" style="font-size:30px;font-weight:700">'
        f"{score}</text>"
        f'<text x="{cx}" y="{cy + 14}" text-anchor="middle">overall / 100</text>'
        "</svg>"
    )


def _score_chart(report: DebtReport) -> str:
    """Stacked horizontal bars: each integration's score split by category."""
    label, bar, row = 170, 600, 26
    width = label + bar + 60
    legend_y = row * len(report.integrations) + 24
    height = legend_y + 24
    out = [
        f'<svg class="chart" id="chart-scores" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="debt score by integration">',
        "<title>Integration Debt Score by integration and category</title>",
    ]
    for tick in (0, 25, 50, 75, 100):
        x = label + bar * tick / 100
        out.append(
            f'<line x1="{x:.0f}" y1="0" x2="{x:.0f}" y2="{legend_y - 14}" stroke="#e4e7eb"/>'
            f'<text x="{x:.0f}" y="{legend_y - 2}" text-anchor="middle" class="muted">{tick}</text>'
        )
    for index, item in enumerate(report.integrations):
        y = index * row + 4
        out.append(
            f'<text x="{label - 8}" y="{y + 14}" text-anchor="end">{escape(item.name)}</text>'
        )
        x = float(label)
        by_category = item.points_by_category()
        # A capped score draws its categories in proportion, so bars never pass 100.
        scale = min(1.0, 100 / max(1, sum(by_category.values())))
        for category, points in by_category.items():
            share = points * scale
            if share <= 0:
                continue
            w = bar * share / 100
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="18" '
                f'fill="{CATEGORY_COLOURS[category]}" data-category="{category}">'
                f"<title>{escape(item.name)}: {category} {points} points</title></rect>"
            )
            x += w
        out.append(
            f'<text x="{x + 6:.1f}" y="{y + 14}" class="score" data-integration='
            f'"{escape(item.name)}">{item.score}</text>'
        )
    keys = [(CATEGORY_COLOURS[category], category) for category in CATEGORIES]
    out.append(_legend(label, legend_y + 8, keys, char_width=8, gap=16))
    out.append("</svg>")
    return "".join(out)


def _legend(x: float, y: int, keys: list[tuple[str, str]], *, char_width: int, gap: int) -> str:
    """A row of (colour, label) swatches whose tops are at ``y``; labels are sized by ``char_width``."""
    out = []
    for colour, key in keys:
        out.append(
            f'<rect x="{x:.0f}" y="{y}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16:.0f}" y="{y + 10}">{key}</text>'
        )
        x += 16 + char_width * len(key) + gap
    return "".join(out)


def _matrix_chart(report: DebtReport) -> str:
    """Per scored integration: its four scores stacked on a 0-12 axis over the cadence bands."""
    scored = [item for item in report.integrations if item.scores is not None]
    label, unit, row = 170, 40, 28
    axis = 12 * unit
    width = label + axis + 260
    top = 22
    height = top + row * max(1, len(scored)) + 40
    out = [
        f'<svg class="chart" id="chart-matrix" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="decision matrix">',
        "<title>Decision-matrix scores and the cadence they call for</title>",
    ]
    bands = (
        ("sprint", 0, SPRINT_MAX + 0.5, "#eef6ee"),
        ("hybrid", SPRINT_MAX + 0.5, HYBRID_MAX + 0.5, "#fff8e6"),
        ("marathon", HYBRID_MAX + 0.5, 12, "#eef2fb"),
    )
    for name, start, end, fill in bands:
        x = label + start * unit
        out.append(
            f'<rect x="{x:.0f}" y="{top - 18}" width="{(end - start) * unit:.0f}" '
            f'height="{height - top}" fill="{fill}"/>'
            f'<text x="{x + 4:.0f}" y="{top - 6}">{name}</text>'
        )
    if not scored:
        out.append(f'<text x="{label}" y="{top + 18}">no integration carries scores</text>')
    for index, item in enumerate(scored):
        assert item.scores is not None
        y = top + index * row
        out.append(
            f'<text x="{label - 8}" y="{y + 15}" text-anchor="end">{escape(item.name)}</text>'
        )
        x = float(label)
        for colour, (key, value) in zip(SCORE_COLOURS, item.scores.as_dict().items(), strict=True):
            if value:
                out.append(
                    f'<rect x="{x:.0f}" y="{y + 2}" width="{value * unit}" height="18" '
                    f'fill="{colour}"><title>{escape(item.name)}: {key} {value}</title></rect>'
                )
            x += value * unit
        agrees = item.suggested_cadence == item.cadence
        verdict = (
            f"declared {item.cadence} \u2713"
            if agrees
            else f"declared {item.cadence} \u2717 scores call for {item.suggested_cadence}"
        )
        out.append(
            f'<text x="{label + axis + 8}" y="{y + 15}" class="{"good" if agrees else "bad"}" '
            f'style="fill:{"#067647" if agrees else "#b42318"}">'
            f"{item.scores.total()} - {escape(verdict)}</text>"
        )
    keys = list(zip(SCORE_COLOURS, SCORE_KEYS, strict=True))
    out.append(_legend(label, height - 26, keys, char_width=7, gap=20))
    out.append("</svg>")
    return "".join(out)


def _risk_chart(report: DebtReport) -> str:
    """A heat grid: integrations by risk bucket, 1 (green) to 5 (red)."""
    rated = [item for item in report.integrations if item.risks is not None]
    label, cell, row = 170, 120, 28
    width = label + cell * len(RISK_KEYS) + 10
    height = 26 + row * max(1, len(rated))
    out = [
        f'<svg class="chart" id="chart-risks" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="risk buckets">',
        "<title>Risk buckets per integration</title>",
    ]
    for column, key in enumerate(RISK_KEYS):
        x = label + column * cell + cell / 2
        out.append(f'<text x="{x:.0f}" y="16" text-anchor="middle">{key}</text>')
    if not rated:
        out.append(f'<text x="{label}" y="44">no integration carries risks</text>')
    for index, item in enumerate(rated):
        assert item.risks is not None
        y = 24 + index * row
        out.append(
            f'<text x="{label - 8}" y="{y + 17}" text-anchor="end">{escape(item.name)}</text>'
        )
        for column, (key, value) in enumerate(item.risks.as_dict().items()):
            x = label + column * cell
            out.append(
                f'<rect x="{x + 2}" y="{y + 2}" width="{cell - 4}" height="{row - 4}" rx="3" '
                f'fill="{RISK_COLOURS[value]}" data-risk="{key}" data-value="{value}">'
                f"<title>{escape(item.name)}: {key} {value}</title></rect>"
                f'<text x="{x + cell / 2:.0f}" y="{y + 18}" text-anchor="middle">{value}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def _table(report: DebtReport) -> str:
    heads = ("integration", "kind", "owner", "cadence", "stage", "expires", "backlog", "ready")
    head = "".join(f"<th>{h}</th>" for h in heads) + "<th>score</th>"
    rows = []
    for item in report.integrations:
        expires = "-" if item.expires_on is None else f"{item.expires_on} ({item.days_left}d)"
        expiry_class = ' class="bad"' if (item.days_left or 0) < 0 else ""
        cadence = item.cadence
        if item.suggested_cadence not in (None, item.cadence):
            cadence += f" (scores: {item.suggested_cadence})"
        score_class = "bad" if item.score >= 50 else "warn" if item.score >= 25 else "good"
        rows.append(
            f'<tr id="row-{escape(item.name)}"><td>{escape(item.name)}</td><td>{item.kind}</td>'
            f"<td>{escape(item.owner)}</td><td>{escape(cadence)}</td>"
            f"<td>{escape(item.stage)}</td>"
            f'<td{expiry_class} data-sort="{item.days_left if item.days_left is not None else 99999}">'
            f"{escape(expires)}</td>"
            f'<td class="num" data-sort="{item.backlog.count}">{item.backlog.count}</td>'
            f"<td>{'yes' if item.ready else 'no'}</td>"
            f'<td class="num score {score_class}">{item.score}</td></tr>'
        )
    return (
        '<table class="sortable" id="integrations">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _details(item: IntegrationDebt) -> str:
    findings = "".join(
        f'<li><span class="points">+{f.points}</span>'
        f'<span class="tag" style="background:{CATEGORY_COLOURS[f.category]};'
        f'color:{TAG_INK.get(f.category, "#fff")}">{f.category}</span>'
        f"{escape(f.message)}</li>"
        for f in sorted(item.findings, key=lambda f: -f.points)
    )
    checks = "".join(
        f'<li class="{check.status.replace("/", "")}"><span class="mark">{STATUS_MARKS[check.status]}</span>'
        f"{escape(check.label)}"
        + (f' <span class="muted">({escape(check.detail)})</span>' if check.detail else "")
        + "</li>"
        for check in item.checklist
    )
    verdict = (
        '<span class="good">ready to migrate</span>'
        if item.ready
        else '<span class="bad">not ready</span>'
    )
    return (
        f'<article class="card" id="integration-{escape(item.name)}">'
        f'<h3>{escape(item.name)} <span class="muted">{item.kind}, {escape(item.stage)}</span>'
        f" &middot; score {item.score}</h3>"
        + (f'<ul class="findings">{findings}</ul>' if findings else "<p>No debt found.</p>")
        + f"<p>Migration readiness: {verdict}</p>"
        f'<ul class="checks">{checks}</ul>'
        "</article>"
    )


def _notes(report: DebtReport) -> str:
    if not report.notes:
        return ""
    items = "".join(f"<li>{escape(note)}</li>" for note in report.notes)
    return f'<h2>Notes</h2><div class="card"><ul id="notes">{items}</ul></div>'


__all__ = ["render_html"]
