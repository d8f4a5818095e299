"""The summary matrix fits a 1400 px wide window, status column included (headless Chromium).

Every contract of the shipped catalogue gets a row with real-looking figures: long label sets,
instance addresses, failed contracts with a long cause and a multi-line diagnosis, inhibited and
not-delivered rows. The page is rendered exactly as ``make chaos`` writes it, opened at 1400 px,
and the right edge of every cell of the last (status) column must lie inside the window, with no
horizontal scrolling.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alertdrill.catalogue import load_catalogue
from alertdrill.report.matrix import summary_page
from alertdrill.results import AlertResult, DrillResult, RunSummary

from .chromium import Chromium, find_chromium

pytestmark = pytest.mark.integration

WIDTH = 1400
#: How far the table and the page reach, and the right edge of each status cell, in CSS pixels.
MEASURE_JS = """(() => {
  const table = document.querySelector('table');
  if (document.readyState !== 'complete' || !table) return null;  // measure the whole page, laid out
  const last = [...table.rows].map(r => r.cells[r.cells.length - 1].getBoundingClientRect().right);
  return {inner: window.innerWidth, scroll: document.documentElement.scrollWidth,
          table: table.getBoundingClientRect().right, status: Math.max(...last), rows: table.rows.length};
})()"""


def realistic_summary() -> RunSummary:
    """One result per catalogue scenario, every alert contract filled as a real run fills it."""
    results = []
    for n, scenario in enumerate(load_catalogue().scenarios):
        alerts = []
        for contract in scenario.alerts:
            failed = n % 3 == 0
            labels = {**contract.labels, "instance": "127.0.0.1:19187", "job": "postgres-exporter-long-job-name",
                      "datname": "alertdrill_application_database"}
            alerts.append(AlertResult(
                contract.name, labels, contract.receiver, inhibited=bool(contract.inhibited_by),
                best_case=123.4, worst_case=456.7, fired_after=234.5, fire_deadline=1234.5,
                delivered_after=None if failed else 345.6, deliver_deadline=1345.6,
                resolved_after=None if failed else 99.9, resolve_deadline=999.9,
                status="failed" if failed else "passed",
                cause=("fired as {datname=\"alertdrill_application_database\",severity=\"critical\"}; expected label "
                       "instance=127.0.0.1:19187; the rule's avg by (datname) drops it") if failed else None,
                diagnosis="did not fire within 1234.50 s\n  expected: Prometheus state firing" if failed else None))
        results.append(DrillResult(scenario.id, scenario.component, scenario.fault.kind, alerts, 0.0,
                                   status="failed" if n % 3 == 0 else "passed"))
    return RunSummary(results, wall_seconds=1234.0, time_scale=60.0)


def test_the_summary_matrix_fits_a_1400_px_window(tmp_path: Path) -> None:
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    summary = realistic_summary()
    page = tmp_path / "index.html"
    page.write_text(summary_page(summary, links={"Allure report": "allure/index.html", "JUnit XML": "junit.xml"}),
                    encoding="utf-8")
    with Chromium(binary, user_data_dir=tmp_path / "chromium", width=WIDTH) as browser:
        browser.open(page.as_uri())
        size = browser.wait_for(MEASURE_JS)
    rows = sum(len(r.alerts) for r in summary.results)
    assert size["rows"] == rows + 1 and size["inner"] == WIDTH, size
    assert size["status"] <= size["inner"] and size["table"] <= size["inner"], (
        f"the matrix is {size['table']:.0f} px wide, its status column ends at {size['status']:.0f} px: "
        f"cut off in a {WIDTH} px window")
    assert size["scroll"] <= size["inner"], size
