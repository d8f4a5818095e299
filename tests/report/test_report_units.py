"""Report building blocks without a stack: labels, tables, plot, rule comparison, summary page, errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import yaml

from alertdrill.assertions.notifications import Notification, NotifiedAlert
from alertdrill.assertions.prometheus import AlertingRule, Series
from alertdrill.catalogue import AlertContract, FaultSpec, Scenario, load_catalogue
from alertdrill.cli import main
from alertdrill.drill import Observers
from alertdrill.errors import ObservationError, ReportError
from alertdrill.matrix import Bounds, format_text, matrix_rows
from alertdrill.report.attach import attach_drill, build_report
from alertdrill.report.labels import allure_severity, runbook_link
from alertdrill.report.matrix import coverage_view, summary_page
from alertdrill.report.plot import (
    Mark,
    Panel,
    PlotData,
    fetch_plot_data,
    marks_from_timeline,
    render_png,
    split_threshold,
    window_of,
)
from alertdrill.report.render import _links, _stage, read_results
from alertdrill.report.renderers import Renderer, find_renderer
from alertdrill.report.rules import rule_comparison_html, shipped_rule
from alertdrill.report.runbook import RUNBOOK, markdown_html, slug
from alertdrill.report.tables import contract_html, deadline_cell, timeline_csv, timeline_html
from alertdrill.results import AlertResult, DrillResult, RunSummary, TimelineRow
from alertdrill.stack.layout import shipped_rule_files

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T0 = 1_700_000_000.0


# --- fakes of the live stack ----------------------------------------------------------------------
def _rule(name: str = "RedisDown", query: str = 'redis_up{job="redis"} == 0', severity: str = "critical"):
    return AlertingRule(name=name, query=query, duration=1.0, keep_firing_for=0.0,
                        labels={"severity": severity, "service": "redis"},
                        annotations={"runbook_url": f"docs/runbook.md#{name.lower()}"}, state="inactive",
                        health="ok", last_error="", group="redis", file="redis.yml", group_interval=1.0,
                        group_last_evaluation=None)


class FakePrometheus:
    def __init__(self, rules=None, fail_rules: bool = False) -> None:
        self._rules = rules if rules is not None else [_rule()]
        self.fail_rules = fail_rules
        self.queries: list[str] = []

    def rules(self):
        if self.fail_rules:
            raise ObservationError("Prometheus at http://127.0.0.1:1: connection refused")
        return self._rules

    def query_range(self, expr, start, end, step):
        self.queries.append(expr)
        if "broken" in expr:
            raise ObservationError("bad_data: parse error")
        values = [(start + i, 0.0 if 2 <= i < 6 else 1.0) for i in range(int(end - start))]
        return [Series({"__name__": "redis_up", "job": "redis", "instance": "127.0.0.1:1"}, values)]


class FakeSink:
    def notifications(self):
        alert = NotifiedAlert(labels={"alertname": "RedisDown", "severity": "critical"}, annotations={},
                              status="firing", starts_at=T0 + 1, ends_at=None, fingerprint="f")
        return [Notification(seq=1, received_at=T0 + 3, receiver="critical", payload_receiver="critical",
                             status="firing", group_key="{}", alerts=(alert,))]


def _scenario(**kw) -> Scenario:
    base = dict(id="redis-down", component="redis", description="Redis is stopped.",
                fault=FaultSpec("service-stop", {"component": "redis"}),
                alerts=(AlertContract("RedisDown", {"severity": "critical", "service": "redis"}, "critical"),))
    return Scenario(**{**base, **kw})


def _result(status: str = "passed") -> DrillResult:
    alert = AlertResult("RedisDown", {"severity": "critical", "service": "redis"}, "critical", best_case=2.0,
                        worst_case=5.0,
                        fired_after=2.9, fire_deadline=5.4, delivered_after=3.8, deliver_deadline=6.5,
                        resolved_after=2.8, resolve_deadline=4.3, status=status)
    labels = '{service="redis", severity="critical"}'
    rows = [TimelineRow(0.0, "fault", "injected", "", "", "stop"),
            TimelineRow(1.8, "prometheus", "pending", "RedisDown", labels, "value=0"),
            TimelineRow(2.9, "prometheus", "firing", "RedisDown", labels, ""),
            TimelineRow(3.8, "sink", "notified", "RedisDown", labels, "receiver=critical"),
            TimelineRow(4.0, "fault", "reverted", "", "", "stop"),
            TimelineRow(6.8, "prometheus", "resolved", "RedisDown", labels, "was firing")]
    return DrillResult(scenario="redis-down", component="redis", fault="stop", alerts=[alert], started=T0 - 1,
                       ended=T0 + 8, evidence={"stopped": "redis"}, injected_at=T0, reverted_at=T0 + 4,
                       status=status, timeline=rows)


def _observers(**kw) -> Observers:
    return Observers(prometheus=FakePrometheus(**kw), alertmanager=None, sink=FakeSink())  # type: ignore[arg-type]


class _Info:
    differences = [{"alert": "RedisDown", "what": "for", "shipped": "1m", "tested": "1s", "why": "time scale 60"}]
    rule_files = [str(p) for p in shipped_rule_files()]


# --- labels -----------------------------------------------------------------------------------------
def test_severity_follows_the_most_urgent_rule() -> None:
    assert allure_severity(["warning", "critical"]) == "critical"
    assert allure_severity(["warning"]) == "normal"
    assert allure_severity([None]) == allure_severity([]) == "normal"
    assert allure_severity(["info"]) == "minor"


def test_runbook_link_from_the_annotation() -> None:
    link = runbook_link("RedisDown", {"runbook_url": "docs/runbook.md#redisdown"})
    assert link is not None and link.url == "docs/runbook.md#redisdown" and "#redisdown" in link.name
    assert runbook_link("X", {}) is None
    assert runbook_link("X", {"runbook_url": "https://wiki/x#y"}).name == "runbook: X"


def test_every_shipped_runbook_anchor_exists_in_the_rendered_runbook() -> None:
    html = markdown_html(RUNBOOK.read_text())
    for path in shipped_rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                url = rule.get("annotations", {}).get("runbook_url", "")
                if "#" in url:
                    assert f'id="{url.split("#")[1]}"' in html, (rule["alert"], url)
    assert slug("Postgres: Too Many!") == "postgres-too-many"


# --- tables ---------------------------------------------------------------------------------------
def test_timeline_table_and_csv_are_relative_to_the_fault() -> None:
    rows = _result().timeline
    csv_text = timeline_csv(rows)
    assert csv_text.splitlines()[0] == "t_seconds,source,kind,alert,labels,detail"
    assert "2.9,prometheus,firing,RedisDown" in csv_text
    html = timeline_html([*rows, TimelineRow(-0.5, "check", "x", "A", '{a="<b>"}')])
    assert "+2.900 s" in html and "-0.500 s" in html and "&lt;b&gt;" in html and "<b>\"" not in html
    assert "no events" in timeline_html([])


def test_deadline_cells_say_ok_or_late() -> None:
    assert "ok" in deadline_cell(2.0, 5.0, Bounds(1.0, 4.0)) and "LATE" not in deadline_cell(2.0, 5.0)
    assert "LATE" in deadline_cell(6.0, 5.0)
    assert deadline_cell(None, 5.0) == '<td class="na">-</td>'
    html = contract_html(_result())
    assert "RedisDown" in html and "2.9 s / 5.4 s" in html


def test_bounds_show_best_and_worst_case_with_the_measured_time_between_them() -> None:
    # The shaded band on the bar runs from best (2.0 s) to worst (5.0 s) as shares of the 6.5 s deadline.
    cell = deadline_cell(3.8, 6.5, Bounds(2.0, 5.0))
    assert 'style="left:31%;width:46%"' in cell and "best case 2.000 s, worst case 5.000 s (within)" in cell
    html = contract_html(_result())
    assert "best..worst case" in html and "2.0..5.0 s" in html and "measured within" in html
    assert "theoretical" not in html
    early = AlertResult("A", {}, "c", best_case=2.0, worst_case=5.0, delivered_after=1.5, deliver_deadline=6.5)
    late = AlertResult("A", {}, "c", best_case=2.0, worst_case=5.0, delivered_after=5.5, deliver_deadline=6.5)
    places = [row.bounds.place(row.bounded.measured) for row in matrix_rows(
        [DrillResult("s", "c", "f", [early, late], 0.0)])]
    assert places == ["below best", "above worst"]
    # Not delivered by design: the bounds are about firing.
    inhibited = AlertResult("A", {}, None, inhibited=True, best_case=1.0, worst_case=4.0, fired_after=2.0,
                            fire_deadline=5.0)
    [row] = matrix_rows([DrillResult("s", "c", "f", [inhibited], 0.0)])
    assert row.bounded == row.fired and row.bounds.place(row.bounded.measured) == "within"
    assert "1.0..4.0s" in format_text([row])


# --- plot -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("expr", "split"), [
    ('up{job="x"} == 0', ('up{job="x"}', "==", 0.0)),
    ("sum(rate(a[5m])) / sum(rate(b[5m])) > 0.05", ("sum(rate(a[5m])) / sum(rate(b[5m]))", ">", 0.05)),
    ("count(q > 2) >= 3", ("count(q > 2)", ">=", 3.0)),
    ("x > bool -1", ("x", ">", -1.0)),
    ("a > 1 and b < 2", None),
    ("rate(x[1m]) > y", None),
    ("absent(up)", None),
])
def test_split_threshold(expr: str, split) -> None:
    assert split_threshold(expr) == split


def test_marks_are_the_first_state_changes_of_the_contract() -> None:
    marks = marks_from_timeline(_result().timeline, "RedisDown", {"severity": "critical"}, base=T0)
    assert [(m.kind, round(m.at - T0, 1)) for m in marks] == [
        ("pending", 1.8), ("firing", 2.9), ("notified", 3.8), ("resolved", 6.8)]
    assert marks_from_timeline(_result().timeline, "RedisDown", {"severity": "warning"}, base=T0) == []


def test_plot_queries_the_left_side_and_each_selector_and_renders_png() -> None:
    prom = FakePrometheus()
    data = fetch_plot_data(prom, title="t", expr='redis_up{job="redis"} + broken_metric == 0', start=T0 - 5,
                           end=T0 + 10, anchor=T0, fault=(T0, T0 + 4), marks=[Mark("firing", T0 + 2.9)])
    assert prom.queries == ['redis_up{job="redis"} + broken_metric', 'redis_up{job="redis"}', "broken_metric"]
    assert data.panels[0].threshold == 0.0 and data.panels[2].error and not data.panels[1].error
    png = render_png(data)
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000


def test_plot_window_spans_the_drill_but_not_the_future() -> None:
    result = _result()
    assert window_of(result, result.timeline, now=T0 + 100) == (T0 - 5, T0 + 13)  # last event: ended at +8
    assert window_of(result, result.timeline, now=T0 + 9) == (T0 - 5, T0 + 9)


def test_plot_without_data_still_renders() -> None:
    empty = PlotData(title="nothing", start=T0, end=T0 + 1, anchor=T0, fault=None, panels=[Panel("q", "q")],
                     marks=[])
    assert render_png(empty).startswith(PNG_MAGIC)


# --- rule comparison ------------------------------------------------------------------------------
def test_rule_as_shipped_and_as_tested() -> None:
    shipped = shipped_rule(shipped_rule_files(), "RedisDown", {"severity": "critical"})
    assert shipped is not None and shipped["alert"] == "RedisDown"
    html = rule_comparison_html("RedisDown", live=_rule(), shipped=shipped, differences=_Info.differences)
    assert "Differences" in html and "time scale 60" in html and "redis_up{job=&quot;redis&quot;} == 0" in html
    assert "exactly as shipped" in rule_comparison_html("RedisDown", live=_rule(), shipped=shipped, differences=[])
    other_rule = [{"alert": "RedisDown", "what": "for", "shipped": "7m", "tested": "7s", "why": "another rule"}]
    assert "another rule" not in rule_comparison_html("RedisDown", live=_rule(), shipped=shipped,
                                                      differences=other_rule)


# --- attach ---------------------------------------------------------------------------------------
def test_build_report_files_the_drill_and_attaches_everything() -> None:
    report = build_report(_result(), scenario=_scenario(), observers=_observers(), stack_info=_Info())
    assert report.problems == []
    assert (report.epic, report.features, report.story, report.severity) == ("redis", ["RedisDown"], "redis-down",
                                                                              "critical")
    assert [link.url for link in report.links] == ["docs/runbook.md#redisdown"]
    names = [a.name for a in report.attachments]
    assert names == ["timeline", "timeline (CSV)", 'plot: RedisDown{service="redis",severity="critical"}',
                     "rule: shipped vs tested", "fault evidence", "notification payloads (1)", "drill result (JSON)"]
    kinds = {a.name: a.kind for a in report.attachments}
    assert kinds["timeline"] == "html" and kinds["timeline (CSV)"] == "csv"
    png = next(a.body for a in report.attachments if a.kind == "png")
    assert isinstance(png, bytes) and png.startswith(PNG_MAGIC)
    assert json.loads(next(a.body for a in report.attachments if a.name == "fault evidence"))["evidence"] == {
        "stopped": "redis"}
    assert "data:image/png;base64," in report.description_html and 'href="docs/runbook.md#redisdown"' in (
        report.description_html)
    assert report.rule_alerts == ["RedisDown"]


def test_locust_stats_are_attached_when_a_load_run_is(tmp_path: Path) -> None:
    (tmp_path / "locust_stats.csv").write_text(
        "Type,Name,Request Count,Failure Count,Requests/s,50%,95%,99%,100%\nGET,/status,10,1,2.0,5,9,9,12\n")
    report = build_report(_result(), scenario=_scenario(), observers=_observers(), stack_info=_Info(),
                          load=tmp_path)
    assert {"Locust stats (whole run)", "Locust stats (CSV)"} <= {a.name for a in report.attachments}


def test_the_fault_window_of_the_session_load_is_shown() -> None:
    result = _result()
    endpoint = {"method": "GET", "name": "/helloworld", "requests": 90, "failures": 9, "failure_ratio": 0.1,
                "rps": 30.0, "p50": 4, "p95": 12, "p99": 30, "max_ms": 41, "status_counts": {"200": 81, "503": 9}}
    result.load_during_fault = {"start": T0, "end": T0 + 3, "total": endpoint,
                                "endpoints": {"GET /helloworld": endpoint}}
    result.ledger = {"acknowledged": 812, "lost_ids": [], "missing": [], "mismatched": []}
    report = build_report(result, scenario=_scenario(), observers=_observers(), stack_info=_Info())
    html = next(a.body for a in report.attachments if a.name == "Locust stats during the fault")
    assert "3.0 s" in html and "/helloworld" in html and "10.0 %" in html and "503: 9" in html
    assert "812 acknowledged writes, none lost" in html
    assert "90 requests, 10.0 % failed, p95 12 ms" in report.description_html


def test_a_broken_observer_becomes_a_report_problem_not_an_error() -> None:
    report = build_report(_result("failed"), scenario=_scenario(), observers=_observers(fail_rules=True),
                          stack_info=_Info())
    assert any("connection refused" in p for p in report.problems)
    assert report.attachments[-1].name == "report problems"
    assert "timeline" in [a.name for a in report.attachments]


def test_attach_drill_never_raises_and_records_rule_names() -> None:
    result = _result()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = attach_drill(result, scenario=_scenario(), observers=_observers(), stack_info=_Info())
    assert report is not None and result.rule_alerts == ["RedisDown"]

    class Exploding(DrillResult):
        def to_json(self):
            raise RuntimeError("boom")

    broken = Exploding(scenario="x", component="redis", fault="stop", alerts=[], started=T0)
    with pytest.warns(UserWarning, match="not attached: RuntimeError: boom"):
        assert attach_drill(broken, scenario=_scenario(), observers=_observers(), stack_info=_Info()) is None


# --- summary page ---------------------------------------------------------------------------------
def test_summary_page_shows_matrix_coverage_and_links() -> None:
    late = _result("failed")
    late.scenario = "redis-late"
    late.alerts[0].fired_after, late.alerts[0].status = 7.0, "failed"
    late.alerts[0].diagnosis = "RedisDown fired late\nmore detail"
    results = [_result(), late]
    catalogue = load_catalogue()
    coverage = coverage_view(results, catalogue, shipped_rule_files())
    assert "redis-down" not in coverage.not_run and "postgres-down" in coverage.not_run
    html = summary_page(RunSummary(results, wall_seconds=12.0, time_scale=60.0), coverage=coverage,
                        links={"JUnit XML": "junit.xml"}, scenario_links={"redis-down": "allure/index.html#abc"},
                        plots={"redis-down": [("plot: RedisDown", PNG_MAGIC + b"x")]})
    assert "1/2" in html and "LATE" in html and "RedisDown fired late" in html and "more detail" in html
    assert 'href="allure/index.html#abc"' in html and 'href="junit.xml"' in html
    assert "did not run" in html and "data:image/png;base64," in html and "12 s" in html
    assert "No summary.json" in summary_page(None)


def test_coverage_names_alerts_without_a_scenario() -> None:
    result = _result()
    result.rule_alerts = ["RedisDown", "BrandNewAlert"]
    results = [result]
    coverage = coverage_view(results, load_catalogue(), [])
    assert coverage.uncovered == ["BrandNewAlert"] and coverage.source.startswith("the rules the run")
    assert any(sid for sid in coverage.missing_from_rules)  # catalogue alerts these two rules lack


# --- render: staging, links, bad input ------------------------------------------------------------
def _write_result(directory: Path, uuid: str, story: str, **extra) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "p.png").write_bytes(PNG_MAGIC)
    raw = {"uuid": uuid, "name": "t", "status": "passed", "stop": 1, "labels": [{"name": "story", "value": story}],
           "attachments": [{"name": "plot: A", "source": "p.png", "type": "image/png"}], **extra}
    (directory / f"{uuid}-result.json").write_text(json.dumps(raw))


def test_staging_points_runbook_links_at_the_rendered_runbook(tmp_path: Path) -> None:
    _write_result(tmp_path / "in", "u1", "s1", links=[{"url": "docs/runbook.md#a", "name": "rb"},
                                                      {"url": "https://x/runbook.md#b", "name": "ext"}],
                  descriptionHtml='<a href="docs/runbook.md#a">A</a>')
    _stage(tmp_path / "in", tmp_path / "out", runbook_href="../runbook.html")
    raw = json.loads((tmp_path / "out" / "u1-result.json").read_text())
    assert [link["url"] for link in raw["links"]] == ["../runbook.html#a", "https://x/runbook.md#b"]
    assert raw["descriptionHtml"] == '<a href="../runbook.html#a">A</a>'
    assert (tmp_path / "out" / "p.png").read_bytes() == PNG_MAGIC


def test_results_map_to_allure3_pages(tmp_path: Path) -> None:
    _write_result(tmp_path, "abc", "redis-down")
    results = read_results(tmp_path)
    assert results[0].story == "redis-down" and results[0].plots[0][0] == "plot: A"
    links = _links(results, Renderer("allure3", ("node",), "3"), tmp_path / "nowhere")
    assert links == {"redis-down": "allure/index.html#900150983cd24fb0d6963f7d28e17f72"}  # md5("abc")
    assert _links(results, Renderer("allure2", ("allure",), "2"), tmp_path) == {}


def test_no_results_say_what_to_run_first(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"no Allure results at .*run the chaos suite first: `make chaos`"):
        read_results(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match=r"holds no Allure results \(\*-result.json\): run the chaos suite"):
        read_results(tmp_path / "empty")


def test_missing_node_and_java_say_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ALERTDRILL_NODE_BIN", "ALERTDRILL_ALLURE2_BIN", "ALERTDRILL_NPM_BIN", "JAVA_HOME"):
        monkeypatch.delenv(var, raising=False)
    old_node = tmp_path / "node"  # Debian bookworm's Node.js 18 is too old for Allure 3's dependencies
    old_node.write_text("#!/bin/sh\necho v18.19.0\n")
    old_node.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ReportError, match=r"no Allure renderer found: install Node.js >= 20 .* or install Java 17"):
        find_renderer("auto", tools_dir=tmp_path)
    with pytest.raises(ReportError, match=r"Allure 3 needs Node.js >= 20.*apt-get install -y nodejs npm"):
        find_renderer("allure3", tools_dir=tmp_path)
    with pytest.raises(ReportError, match=r"Allure 2 needs Java 17.*openjdk-17-jre-headless"):
        find_renderer("allure2", tools_dir=tmp_path)
    with pytest.raises(ReportError, match="unknown renderer 'allure4'"):
        find_renderer("allure4")


def test_cli_prints_one_line_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--results", str(tmp_path / "none"), "--output", str(tmp_path / "html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("alertdrill: error: no Allure results at")
    assert not (tmp_path / "html").exists()
