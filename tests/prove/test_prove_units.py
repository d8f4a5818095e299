"""The parts of `prove` that need no promtool: expression analysis, synthesis, candidates, minimising,
reading promtool's report, results and coverage, inventory files. Each check has a wrong input too."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertdrill.errors import ConfigError
from alertdrill.prove.candidates import BUDGET, Domain, assignments, domains
from alertdrill.prove.expression import analyse, parse, render
from alertdrill.prove.inventory import Inventory, MetricInfo, SeriesInfo, load_inventory, metric_type, save_inventory
from alertdrill.prove.minimise import minimise
from alertdrill.prove.promtool import Probe, batch_doc, parse_output
from alertdrill.prove.result import CoverageKind, ProofResult, Verdict, alert_coverage
from alertdrill.prove.synthesis import BASELINE, Timeline, Unit, build_units


def _inventory(**metrics: MetricInfo) -> Inventory:
    return Inventory(metrics, "test")


UP = MetricInfo("pg_up", "gauge", series=(SeriesInfo({"instance": "a:1", "job": "postgres"}, 1, 1, 1),))
CONN = MetricInfo("redis_connected_clients", "gauge",
                  series=(SeriesInfo({"instance": "r:1", "job": "redis"}, 5, 9, 7),))
MAXMEM = MetricInfo("redis_memory_max_bytes", "gauge", series=(SeriesInfo({"instance": "r:1", "job": "redis"},
                                                                          1000, 1000, 1000),))
USED = MetricInfo("redis_memory_used_bytes", "gauge", series=(SeriesInfo({"instance": "r:1", "job": "redis"},
                                                                        10, 20, 15),))
REQS = MetricInfo("http_requests_total", "counter", series=(
    SeriesInfo({"instance": "a:2", "job": "app", "status": "200"}, 0, 600, 600),
    SeriesInfo({"instance": "a:2", "job": "app", "status": "500"}, 0, 0, 0),
))


# --- expression analysis (promql-parser) ------------------------------------------------------------

def test_analysis_reads_roles_windows_and_constants() -> None:
    a = analyse('sum by (instance) (rate(http_requests_total{status=~"5.."}[5m])) / '
                'sum by (instance) (rate(http_requests_total[5m])) > 0.05 or absent(up{job="app"})')
    roles = {s.key: s.roles for s in a.signals}
    assert roles == {'http_requests_total{status=~"5.."}': {"rate"}, "http_requests_total": {"rate"},
                     'up{job="app"}': {"absent"}}
    assert a.max_window == 300 and a.constants == (0.05,)


def test_analysis_marks_counted_selectors_and_time() -> None:
    a = analyse("count by (instance) (pg_long_running_query_seconds > 120) >= 3")
    assert a.signals[0].roles == {"raw", "count"} and not a.uses_time
    assert analyse("time() - x_timestamp_seconds > 60").uses_time


def test_invalid_promql_is_one_line_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot parse PromQL"):
        analyse("sum by (instance (x)")


def test_render_gives_back_promql_promtool_accepts() -> None:
    assert render(parse("rate(pg_up{}[5m]) > on (instance) x")) == "rate(pg_up[5m]) > on (instance) x"


# --- synthesis --------------------------------------------------------------------------------------

def test_timeline_leaves_room_for_window_and_for() -> None:
    t = Timeline.for_rule(step=15, window=300, duration=600)
    assert t.fire * 15 >= 300 + 600 and t.after * 15 >= 300
    assert t.t_quiet < t.t_fire < t.t_after == t.size - 1


def test_counter_keeps_counting_across_phases_and_absent_means_no_sample() -> None:
    t = Timeline(15, 2, 2, 2)
    counter = Unit("c", "counter", ({"__name__": "c"},), starts=(10.0,))
    assert counter.values((0.0, 1.0, 0.0), t) == [[10, 10, 25, 40, 40, 40]]
    gauge = Unit("g", "gauge", ({"__name__": "g"},), seen=(7.0,))
    assert gauge.values((BASELINE, None, 3.0), t) == [[7, 7, None, None, 3, 3]]


def test_histogram_buckets_count_observations_at_or_below_le() -> None:
    t = Timeline(1, 1, 2, 1)
    unit = Unit("h", "histogram", ({"__name__": "h_bucket", "le": "0.5"}, {"__name__": "h_bucket", "le": "+Inf"}))
    low, inf = unit.values((0.1, 1.0, 0.1), t)
    assert low == [0, 0, 0, 1] and inf == [0, 1, 2, 3]


def test_series_come_from_the_inventory_and_a_dead_selector_gets_none() -> None:
    inv = _inventory(http_requests_total=REQS)
    units, _ = build_units(analyse('rate(http_requests_total{status=~"5.."}[5m]) > 0'), inv)
    assert [u.series[0]["status"] for u in units] == ["500"]
    units, notes = build_units(analyse('rate(http_requests_total{status="418"}[5m]) > 0'), inv)
    assert units == [] and notes == []  # a value no series has is not made up
    units, _ = build_units(analyse('http_requests_total{job="nope"}'), inv)
    assert units == []


def test_negative_matcher_may_get_another_value() -> None:
    inv = _inventory(http_requests_total=MetricInfo("http_requests_total", "counter", series=(
        SeriesInfo({"instance": "a:2", "job": "app", "endpoint": "/metrics"}, 0, 1, 1),)))
    units, notes = build_units(analyse('rate(http_requests_total{endpoint!="/metrics"}[5m]) > 1'), inv)
    assert units and units[0].series[0]["endpoint"] != "/metrics" and "no http_requests_total series" in notes[0]


# --- candidates -------------------------------------------------------------------------------------

def test_a_flag_only_takes_0_and_1() -> None:
    a = analyse("pg_up > 1")
    inv = _inventory(pg_up=UP)
    units, _ = build_units(a, inv)
    (dom,) = domains(a, units, inv)
    assert set(dom.levels) == {BASELINE, 0.0, 1.0}


def test_levels_come_from_thresholds_and_their_neighbours() -> None:
    a = analyse("redis_connected_clients > 100")
    inv = _inventory(redis_connected_clients=CONN)
    units, _ = build_units(a, inv)
    (dom,) = domains(a, units, inv)
    assert 110.0 in dom.levels and 90.0 in dom.levels


def test_a_value_never_exceeds_its_limit() -> None:
    a = analyse("redis_memory_used_bytes / redis_memory_max_bytes > 90")
    inv = _inventory(redis_memory_used_bytes=USED, redis_memory_max_bytes=MAXMEM)
    units, _ = build_units(a, inv)
    doms = domains(a, units, inv)
    used = next(d for d in doms if d.signal == "redis_memory_used_bytes")
    assert used.bounded_by == "redis_memory_max_bytes"
    for candidate in assignments(doms):
        u, m = candidate["redis_memory_used_bytes"], candidate["redis_memory_max_bytes"]
        u = 15.0 if u == BASELINE else u
        m = 1000.0 if m == BASELINE else m
        assert u <= m, candidate


def test_absent_selectors_can_vanish_and_the_search_is_bounded() -> None:
    a = analyse('absent(up{job="app"})')
    inv = _inventory(up=MetricInfo("up", "gauge", series=(SeriesInfo({"instance": "a:2", "job": "app"}, 1, 1, 1),)))
    (dom,) = domains(a, build_units(a, inv)[0], inv)
    assert dom.levels[:2] == (BASELINE, None)  # absence right after the baseline
    doms = [Domain(f"s{i}", "gauge", BASELINE, (BASELINE, None, 1.0, 2.0, 3.0)) for i in range(6)]
    found = list(assignments(doms, budget=50))
    assert len(found) == 50 and found[0] == {f"s{i}": BASELINE for i in range(6)}
    assert any(None in c.values() for c in found)
    assert len(list(assignments(doms))) <= BUDGET


# --- minimising -------------------------------------------------------------------------------------

def test_minimise_drops_every_unit_the_check_does_not_need() -> None:
    def check(variants):
        return [{"a", "c"} <= set(v) for v in variants]

    assert sorted(minimise(list("abcdef"), check)) == ["a", "c"]


def test_minimise_keeps_everything_when_each_unit_is_needed() -> None:
    assert minimise(list("abc"), lambda variants: [False] * len(variants)) == list("abc")


# --- promtool's report ------------------------------------------------------------------------------

REPORT = """Unit Testing:  batch.test.yml
  FAILED:
    expr: "vector(0)", time: 0s,
        exp: nil
        got: {} 0E+00
    expr: "redis_up == 0", time: 3m,
        exp: nil
        got: {__name__="redis_up", instance="a:1", job="redis"} 0E+00
    name: c1,
    alertname: A, time: 2m,\x20
        exp:[],\x20
        got:[
            0:
              Labels:{alertname="A", instance="a:1", job="redis", severity="critical"}
              Annotations:{summary="down \\"a:1\\""}
            ]
    expr: "vector(1)", time: 0s,
        exp: nil
        got: {} 1E+00
    expr: "vector(2)", time: 0s,
        exp: nil
        got: {} 2E+00
    expr: "redis_up == 0", time: 3m,
        exp: nil
        got: {__name__="redis_up", instance="b:1", job="redis"} 0E+00, \
{__name__="redis_up", instance="c:1", job="redis"} 5E-01
"""


def test_report_is_attributed_to_the_right_group() -> None:
    """promtool names no group before expression failures: the vector(N) markers do."""
    c0, c1, c2 = parse_output(REPORT, 3, 15.0)
    assert [g.labels["instance"] for g in c0.samples[("redis_up == 0", 12)]] == ["a:1"] and not c0.alerts
    assert c1.firing(8) and c1.alerts[8][0].annotations == {"summary": 'down "a:1"'} and not c1.samples
    assert [g.value for g in c2.samples[("redis_up == 0", 12)]] == [0.0, 0.5] and not c2.alerts
    assert not c0.firing(8) and not c2.true("redis_up == 0", 1)


def test_every_group_carries_its_marker() -> None:
    doc = batch_doc("rules.yml", [Probe([({"__name__": "x"}, [1.0, None])], (1,), (("x", 1),))] * 2, "A", 15.0)
    assert [t["promql_expr_test"][0]["expr"] for t in doc["tests"]] == ["vector(0)", "vector(1)"]
    assert doc["tests"][0]["input_series"] == [{"series": "x", "values": "1 stale"}]


# --- results and coverage ---------------------------------------------------------------------------

def _proof(alert: str, verdict: Verdict, reason: str = "") -> ProofResult:
    return ProofResult(alert, "warning", verdict, reason)


def test_coverage_per_alert() -> None:
    proofs = [_proof("A", Verdict.FIREABLE), _proof("B", Verdict.FIREABLE), _proof("C", Verdict.CANNOT_FIRE, "why"),
              _proof("D", Verdict.ALWAYS_FIRES, "baseline")]
    cov = alert_coverage(["A", "B", "C", "D", "E"], proofs, drilled=["A"])
    assert {k: v.kind for k, v in cov.items()} == {
        "A": CoverageKind.DRILL, "B": CoverageKind.SYNTHESIS, "C": CoverageKind.CANNOT_FIRE,
        "D": CoverageKind.ALWAYS_FIRES, "E": CoverageKind.UNPROVEN}
    assert "why" in cov["C"].reason
    assert [k for k, v in cov.items() if v.kind.acceptable] == ["A", "B"]


def test_one_broken_rule_of_a_name_makes_the_alert_unproven() -> None:
    cov = alert_coverage(["A"], [_proof("A", Verdict.FIREABLE), _proof("A", Verdict.CANNOT_FIRE, "x")])
    assert cov["A"].kind is CoverageKind.CANNOT_FIRE


def test_result_round_trips_through_json(tmp_path: Path) -> None:
    from alertdrill.prove.run import load_results, save_results

    result = ProofResult("A", "critical", Verdict.CANNOT_FIRE, "r", ("e1",), 3, 1, 0.5, tmp_path / "t.test.yml")
    assert load_results(save_results([result], tmp_path / "prove.json")) == [result]


# --- inventory files --------------------------------------------------------------------------------

def test_inventory_round_trips(tmp_path: Path) -> None:
    inv = _inventory(pg_up=UP, http_requests_total=REQS)
    loaded = load_inventory(save_inventory(inv, tmp_path / "inv.yml"))
    assert loaded.shape() == inv.shape() and loaded.metric("pg_up").is_flag


def test_inventory_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; capture one"):
        load_inventory(tmp_path / "missing.yml")
    (tmp_path / "bad.yml").write_text("metrics: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_inventory(tmp_path / "bad.yml")
    (tmp_path / "list.yml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="no 'metrics' mapping"):
        load_inventory(tmp_path / "list.yml")


def test_metric_types_follow_the_family() -> None:
    meta = {"http_request_duration_seconds": "histogram", "pg_up": "gauge"}
    assert metric_type("http_request_duration_seconds_bucket", meta) == "histogram"
    assert metric_type("pg_up", meta) == "gauge"
    assert metric_type("foo_total", meta) == "counter"
    assert metric_type("foo", meta) == "unknown"


def test_inventory_differences_name_new_gone_and_changed_metrics() -> None:
    from alertdrill.prove.inventory import differences

    shipped = _inventory(pg_up=UP, http_requests_total=REQS)
    assert differences(shipped, shipped, jobs=["app", "postgres"]) == []
    relabelled = MetricInfo("pg_up", "gauge", series=(SeriesInfo({"instance": "a:9", "job": "postgres"}, 1, 1, 1),))
    assert differences(_inventory(pg_up=relabelled, http_requests_total=REQS), shipped, jobs=["app", "postgres"]) == []
    renamed = MetricInfo("pg_up", "gauge", series=(SeriesInfo({"host": "a:1", "job": "postgres"}, 1, 1, 1),))
    live = _inventory(pg_up=renamed, redis_connected_clients=CONN)
    found = differences(live, shipped, jobs=["app", "postgres", "redis"])
    assert found[0] == "new: redis_connected_clients" and found[1] == "gone: http_requests_total"
    assert found[2].startswith("changed: pg_up")
