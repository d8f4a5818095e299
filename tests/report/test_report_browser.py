"""The report of a small real run, rendered and looked at in headless Chromium.

A pytest subprocess runs two real drills against a native stack (``tiny_drills.py``: RedisDown proven,
and a drill that fails because nothing is injected) and writes Allure results with attach_drill; then
``alertdrill report`` renders them and Chromium opens the summary page and a scenario's Allure page.
Screenshots are kept in ``reports/screenshots/`` (printed), because a report is judged by looking at it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from alertdrill.report.render import render_report
from alertdrill.report.renderers import find_java, find_node

from .chromium import Chromium, find_chromium

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
SCREENSHOTS = Path(os.environ.get("ALERTDRILL_SCREENSHOT_DIR") or HERE.parents[1] / "reports" / "screenshots")
#: Images (also inside the Allure description iframe) that have loaded: the plot really rendered.
PLOTS_JS = """(() => {
  const docs = [document, ...[...document.querySelectorAll('iframe')].map(f => f.contentDocument).filter(Boolean)];
  return docs.flatMap(d => [...d.images]).filter(i => i.alt.startsWith('plot') && i.complete && i.naturalWidth > 300)
    .length;
})()"""
RUNBOOK_JS = """[document, ...[...document.querySelectorAll('iframe')].map(f => f.contentDocument).filter(Boolean)]
  .some(d => [...d.querySelectorAll('a')].some(a => a.href.endsWith('/runbook.html#redisdown')))"""
TEXT_JS = """(() => [document, ...[...document.querySelectorAll('iframe')].map(f => f.contentDocument).filter(Boolean)]
  .map(d => d.body ? d.body.innerText : '').join('\\n'))()"""


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Reports dir of a real two-drill run: allure-results, junit.xml, summary.json."""
    work = tmp_path_factory.mktemp("real-run")
    shutil.copy(HERE / "tiny_drills.py", work / "test_tiny_drills.py")
    reports = work / "reports"
    # A stack of its own: this session's stack (ALERTDRILL_STACK_NAME) may be running already.
    name = os.environ.get("ALERTDRILL_STACK_NAME", "pytest") + "-report-drill"
    env = {**os.environ, "ALERTDRILL_STACK_NAME": name, "ALERTDRILL_REPORT_DIR": str(reports)}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_tiny_drills.py",
            "--alluredir", str(reports / "allure-results"), "--junitxml", str(reports / "junit.xml")]
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=180, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 1, f"expected 1 passed, 1 failed; pytest exited {done.returncode}:\n{output[-4000:]}"
    assert "1 failed, 1 passed" in output, output[-4000:]
    return reports


@pytest.fixture(scope="module")
def rendered(real_run: Path, tmp_path_factory: pytest.TempPathFactory):
    if find_node() is None:
        pytest.skip("Node.js >= 18 is needed to render the Allure 3 report (apt-get install -y nodejs npm)")
    out = tmp_path_factory.mktemp("html")
    # Relative paths, as `make chaos` passes them (Allure itself runs in a scratch directory).
    with contextlib.chdir(real_run):
        return render_report(Path("allure-results"), Path(os.path.relpath(out, real_run)),
                             summary_path=Path("summary.json"), junit_path=Path("junit.xml"))


def test_the_run_wrote_allure_results_junit_and_summary(real_run: Path) -> None:
    results = list((real_run / "allure-results").glob("*-result.json"))
    assert len(results) == 2
    suite = ET.parse(real_run / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    assert (real_run / "summary.json").is_file()


def test_report_is_self_contained(rendered) -> None:
    out = rendered.index.parent
    assert rendered.renderer.kind == "allure3"
    assert {p.name for p in out.iterdir()} >= {"index.html", "allure", "junit.xml", "summary.json", "runbook.html"}
    assert [p.name for p in (out / "allure").glob("*.html")] == ["index.html"]
    assert set(rendered.scenario_links) == {"redis-down", "redis-down-no-fault"}
    for page in (rendered.index, rendered.allure_index):
        text = page.read_text(encoding="utf-8")
        assert "http://" not in text.replace("http://www.w3.org", "") or page == rendered.allure_index
        assert '<script src="http' not in text and '<link rel="stylesheet" href="http' not in text


def test_summary_and_scenario_render_in_chromium(rendered, tmp_path: Path) -> None:
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with Chromium(binary, user_data_dir=tmp_path / "chromium") as browser:
        browser.open(rendered.index.as_uri())
        # One plot per drill, as loaded images: wait for both, not for the first one to appear.
        assert browser.wait_for(f"{PLOTS_JS} >= 2")
        summary = browser.evaluate(TEXT_JS)
        for expected in ("alert contracts passed", "1/2", "redis-down", "redis-down-no-fault", "RedisDown",
                         "never fired", "Coverage", "JUnit XML", "LATE" if "LATE" in summary else "ok"):
            assert expected in summary, expected
        shot_summary = browser.screenshot(SCREENSHOTS / "report-summary.png")

        browser.open(rendered.index.parent.as_uri() + "/" + rendered.scenario_links["redis-down"])
        # Allure 3 reads its inlined data through fetch(); retry once if that failed transiently.
        assert browser.wait_for(PLOTS_JS, reload_on="Failed to fetch") >= 1  # the plot in the description
        page = browser.wait_for(f"(() => {{ const t = {TEXT_JS}; return t.includes('Test body') && t; }})()")
        for expected in ("redis-down", "RedisDown", "Passed", "Critical", "epic", "redis", "runbook: RedisDown",
                         "baseline: stack quiet", "inject: ", "prove: the fault is in effect", "fire: RedisDown",
                         "deliver: RedisDown", "revert: ", "resolve: RedisDown",
                         "timeline", "plot: RedisDown", "rule: shipped vs tested", "fault evidence",
                         "notification payloads"):
            assert expected in page, expected
        assert browser.evaluate(RUNBOOK_JS), "no link to runbook.html#redisdown in the scenario's page"
        shot_scenario = browser.screenshot(SCREENSHOTS / "report-scenario.png")
        browser.evaluate("document.querySelector('iframe').scrollIntoView({block: 'start'})")
        shot_plot = browser.screenshot(SCREENSHOTS / "report-scenario-plot.png")
    shots = (shot_summary, shot_scenario, shot_plot)
    print("\nscreenshots: " + ", ".join(str(p) for p in shots))
    assert all(p.stat().st_size > 20_000 for p in shots)


def test_allure2_fallback_renders_a_single_file_too(real_run: Path, tmp_path: Path) -> None:
    if find_java() is None:
        pytest.skip("Java 17 is needed for the Allure 2 fallback (apt-get install -y openjdk-17-jre-headless)")
    binary = find_chromium()
    rendered = render_report(real_run / "allure-results", tmp_path / "html", summary_path=real_run / "summary.json",
                             renderer="allure2")
    assert rendered.renderer.kind == "allure2"
    assert [p.name for p in (tmp_path / "html" / "allure").iterdir()] == ["index.html"]
    assert "redis-down-no-fault" in rendered.index.read_text(encoding="utf-8")
    if binary is None:
        return
    with Chromium(binary, user_data_dir=tmp_path / "chromium") as browser:
        browser.open(rendered.allure_index.as_uri() + "#behaviors")
        assert browser.wait_for("document.body.innerText.includes('redis')")  # the epic, from attach_drill
