"""The managers' dashboard in a real Chromium against the live server with the demo data (issue 4, item 2).

The charts are Apache ECharts served from the app, drawn by static/js/dashboard.js from the page's JSON data
block, under the strict Content-Security-Policy: ``new_page`` fails the test on any console error, and
Chromium reports every CSP violation as one.  The page also listens for ``securitypolicyviolation`` events,
which it logs to the console, so a violation that the browser did not log is caught as well.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import shot
from tests.e2e.test_story import log_in

pytestmark = pytest.mark.e2e

CHARTS = ("trend", "category", "channel", "street", "building", "field")

# Registered before any script of the page runs: a CSP violation becomes a console error.
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " " + event.blockedURI);
});
"""


def chart_sizes(page) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Each chart container's canvas width and height (an empty list when it has no canvas)."""
    return page.evaluate(  # type: ignore[no-any-return]
        """() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map((el) => {
            const canvas = el.querySelector('canvas');
            const box = canvas ? canvas.getBoundingClientRect() : null;
            return [el.dataset.chart, box ? [box.width, box.height] : []];
        }))"""
    )


def legend_names(page, chart: str) -> list[str]:  # type: ignore[no-untyped-def]
    return page.evaluate(  # type: ignore[no-any-return]
        """(name) => {
            const el = document.querySelector(`[data-chart="${name}"]`);
            return window.echarts.getInstanceByDom(el).getOption().series.map((s) => s.name);
        }""",
        chart,
    )


def test_the_dashboard_draws_its_charts(live_server: str, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page("zh-CN")
    page.add_init_script(WATCH_CSP)
    csp_headers: list[str] = []
    page.on(
        "response",
        lambda r: (
            r.url.endswith("/manage/dashboard")
            and csp_headers.append(r.headers.get("content-security-policy"))
        ),
    )
    log_in(page, live_server, "manager")
    page.goto(live_server + "/manage/dashboard")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every((el) => el.querySelector('canvas'))"
    )
    assert csp_headers and "script-src 'self'" in csp_headers[0]  # the strict policy was in force
    sizes = chart_sizes(page)
    assert set(sizes) == set(CHARTS)
    for name, size in sizes.items():
        assert size and size[0] > 100 and size[1] > 100, (name, size)
    # The demo data has requests this year: the cards show numbers, and the trend has its three series.
    assert page.locator("#card-total .stat-value").inner_text() != "0"
    assert len(legend_names(page, "trend")) == 3  # volume bars, closure and satisfaction lines
    page.locator("#chart-trend canvas").hover()  # the tooltip builds its own elements: still no violation
    shot(page, "20-dashboard-zh")

    # A figure leads to the requests behind it.
    page.click("#card-resolved .stat-value")
    page.wait_for_load_state()
    assert "/manage/dashboard/requests?figure=resolved" in page.url
    assert page.locator("table.ticket-table tbody tr").count() > 0

    # In English, the chart titles and the series are English.
    page.click("text=English")
    page.wait_for_load_state()
    page.goto(live_server + "/manage/dashboard")
    page.wait_for_function("() => document.querySelector('#chart-category canvas')")
    assert page.locator("#chart-category-title").inner_text() == "By category"
    assert page.locator("#chart-trend-title").inner_text().startswith("Monthly trend")
    assert legend_names(page, "trend") == ["Requests", "Closure rate (%)", "Satisfaction rate (%)"]
    shot(page, "21-dashboard-en")
