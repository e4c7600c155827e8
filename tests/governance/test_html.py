"""The HTML report: self-contained, escaped, and really rendered by headless Chromium.

The Chromium tests need a Chromium binary (``MARTECH_BUS_CHROMIUM``, else ``chromium``,
``chromium-browser``, ``google-chrome`` on the PATH). Without one they skip locally
and fail in CI (``CI`` set), so the page is never shipped unrendered.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser

import pytest

from martech_bus.governance import DebtReport, render_html
from tests.governance.helpers import dead_letters, flags, integration, quarantined, report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def debt_report() -> DebtReport:
    """Debt in several categories, a note, and a stuck rollout."""
    return report(
        today=date(2027, 2, 10),
        flags=flags(("braze", "dual:bus:50"), ("hubspot", "direct")),
        dead_letters=dead_letters("braze", [0.5, 3, 8]),
        quarantine=quarantined("segment", [2]),
    )


# -- the page as text ---------------------------------------------------------------------------


def test_the_page_fetches_nothing() -> None:
    page = render_html(debt_report())
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert "<style>" in page and "<script>" in page


def test_text_from_manifests_is_escaped() -> None:
    found = debt_report()
    braze = integration(found, "braze")
    hostile = dataclasses.replace(braze, owner="<script>alert(1)</script>")
    page = render_html(dataclasses.replace(found, integrations=(hostile,)))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_embedded_data_cannot_close_its_script_tag() -> None:
    found = debt_report()
    braze = dataclasses.replace(integration(found, "braze"), owner="</script><b>x</b>")
    page = render_html(dataclasses.replace(found, integrations=(braze,)))
    data = page.split('id="debt-data">', 1)[1].split("</script>", 1)[0]
    assert "\\u003c/script>" in data


# -- the page in a browser ----------------------------------------------------------------------


def chromium() -> str:
    found = os.environ.get("MARTECH_BUS_CHROMIUM") or next(
        (path for name in BROWSERS if (path := shutil.which(name))), None
    )
    if found:
        return found
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail("CI must render the HTML report: install chromium (apt-get install chromium)")
    pytest.skip("no Chromium here (apt-get install chromium, or set MARTECH_BUS_CHROMIUM)")


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclasses.dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class Dom(HTMLParser):
    """Every element of a dumped DOM with its attributes and the text inside it."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {key: value or "" for key, value in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop().tag != tag:
            pass  # an element the serializer left implicit

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def by_id(self, element_id: str) -> Element:
        return next(e for e in self.elements if e.attrs.get("id") == element_id)

    def all(self, tag: str, attribute: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and attribute in e.attrs]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[DebtReport, Dom]:
    browser = chromium()
    folder = tmp_path_factory.mktemp("html")
    found = debt_report()
    page = folder / "debt.html"
    page.write_text(render_html(found), encoding="utf-8")
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={folder / 'profile'}",
            "--window-size=1200,2000",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "<body" in done.stdout, done.stderr[-2000:]
    return found, Dom(done.stdout)


def test_the_script_ran_and_computed_the_summary(rendered: tuple[DebtReport, Dom]) -> None:
    found, dom = rendered
    body = next(e for e in dom.elements if e.tag == "body")
    assert body.attrs["data-rendered"] == "js"
    worst = found.worst()
    assert worst is not None
    assert dom.by_id("js-summary").text == (
        f"{found.ready_count()} of {len(found.integrations)} integrations ready to migrate; "
        f"mean score {found.score}; worst: {worst.name} ({worst.score})"
    )


def test_every_chart_is_laid_out_with_a_size(rendered: tuple[DebtReport, Dom]) -> None:
    _, dom = rendered
    for chart in ("chart-overall", "chart-scores", "chart-matrix", "chart-risks"):
        attrs = dom.by_id(chart).attrs
        assert int(attrs["data-rendered-width"]) > 100, chart
        assert int(attrs["data-rendered-height"]) > 50, chart


def test_every_integration_appears_with_its_score(rendered: tuple[DebtReport, Dom]) -> None:
    found, dom = rendered
    for item in found.integrations:
        assert f"score {item.score}" in dom.by_id(f"integration-{item.name}").text
        assert dom.by_id(f"row-{item.name}").text.endswith(str(item.score))
    bars = {e.attrs["data-integration"]: e.text for e in dom.all("text", "data-integration")}
    assert bars == {item.name: str(item.score) for item in found.integrations}


def test_the_risk_grid_and_the_matrix_show_every_scored_adapter(
    rendered: tuple[DebtReport, Dom],
) -> None:
    found, dom = rendered
    rated = [item for item in found.integrations if item.risks is not None]
    assert len(dom.all("rect", "data-risk")) == 4 * len(rated) == 24
    assert "4 - declared sprint \u2713" in dom.by_id("chart-matrix").text


def test_the_notes_are_on_the_page(rendered: tuple[DebtReport, Dom]) -> None:
    found, dom = rendered
    assert found.notes and all(note in dom.by_id("notes").text for note in found.notes)
