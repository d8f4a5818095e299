"""The PromQL parser and label-shape evaluator behind the join check, on fake exporter series."""

from __future__ import annotations

import pytest
import yaml

from alertdrill.assertions.promql import Selector
from alertdrill.errors import ConfigError
from alertdrill.lint import LabelShapes, parse_promql
from alertdrill.lint.live import is_absence
from alertdrill.lint.promql import Agg, Binary, Call, Num, Sel
from alertdrill.stack import layout

PG = {"job": "postgres", "instance": "localhost:9187", "server": "localhost:5432"}
REDIS = {"job": "redis", "instance": "localhost:9121"}
APP = {"job": "app", "instance": "localhost:5000"}

#: What the real exporters expose, reduced to a few series per metric.
SERIES: dict[str, list[dict[str, str]]] = {
    "up": [{**PG}, {**REDIS}, {**APP}],
    "pg_up": [{"job": "postgres", "instance": "localhost:9187"}],
    "pg_exporter_last_scrape_error": [{"job": "postgres", "instance": "localhost:9187"}],
    "pg_stat_activity_count": [{**PG, "datname": "alertdrill", "state": s} for s in ("active", "idle")],
    "pg_settings_max_connections": [{**PG}],
    "pg_long_running_query_seconds": [{**PG, "datname": "alertdrill"}],
    **{f"pg_stat_database_{m}": [{**PG, "datid": "16385", "datname": "alertdrill"}, {**PG, "datid": "0"}]
       for m in ("xact_commit", "xact_rollback", "blks_hit", "blks_read")},
    **{f"pg_table_vacuum_{m}": [{**PG, "datname": "alertdrill", "schemaname": "public", "relname": "items"}]
       for m in ("seconds_since_vacuum", "dead_tuples", "autovacuum_threshold")},
    **{f"redis_{m}": [{**REDIS}] for m in ("up", "connected_clients", "memory_used_bytes", "memory_max_bytes",
                                             "rejected_connections_total")},
    "http_requests_total": [{**APP, "method": "GET", "endpoint": "/items", "status": "200"}],
    "http_request_duration_seconds_bucket": [{**APP, "method": "GET", "endpoint": "/items", "le": le}
                                             for le in ("0.5", "+Inf")],
}


def fake_series(selector: Selector) -> list[dict[str, str]]:
    """The fake series of the selector's metric that its matchers select (= and != only)."""
    out = []
    for labels in SERIES.get(selector.metric or "", []):
        if all((labels.get(m.name, "") == m.value) == (m.op == "=") for m in selector.matchers if m.op in ("=", "!=")):
            out.append({"__name__": selector.metric or "", **labels})
    return out


def shapes_of(expr: str) -> tuple[LabelShapes, list[dict[str, str]]]:
    shapes = LabelShapes(fake_series)
    return shapes, shapes.evaluate(parse_promql(expr)).series


def _shipped_exprs() -> list[tuple[str, str]]:
    return [(f"{r['alert']}[{r['labels']['severity']}]", r["expr"]) for p in layout.shipped_rule_files()
            for g in yaml.safe_load(p.read_text())["groups"] for r in g["rules"]]


@pytest.mark.parametrize("name,expr", _shipped_exprs(), ids=[n for n, _ in _shipped_exprs()])
def test_shipped_rules_join_cleanly_and_keep_instance(name, expr):
    shapes, series = shapes_of(expr)
    assert shapes.problems == []
    if is_absence(parse_promql(expr)):  # an alert on a missing series has only its selector's labels
        assert series and all("job" in s for s in series), f"{name} loses job: {series}"
        return
    assert series and all("instance" in s for s in series), f"{name} loses instance: {series}"


def test_precedence_and_modifiers():
    node = parse_promql("a == 1 and on (instance) b > bool 2 * -c ^ 2")
    assert isinstance(node, Binary) and node.op == "and" and node.on is True and node.labels == ("instance",)
    assert isinstance(node.lhs, Binary) and node.lhs.op == "=="
    rhs = node.rhs
    assert isinstance(rhs, Binary) and rhs.op == ">" and rhs.bool_
    assert isinstance(rhs.rhs, Binary) and rhs.rhs.op == "*"


def test_aggregation_forms_and_functions():
    node = parse_promql('sum(rate(x{a="1"}[5m] offset 1m)) by (job) / ignoring (le) group_left (team) topk(3, y)')
    assert isinstance(node, Binary) and node.on is False and node.card == "group_left" and node.include == ("team",)
    assert isinstance(node.lhs, Agg) and node.lhs.labels == ("job",) and node.lhs.grouped
    assert isinstance(node.lhs.expr, Call) and node.lhs.expr.func == "rate"
    sel = node.lhs.expr.args[0]
    assert isinstance(sel, Sel) and sel.selector.range == "5m" and sel.selector.text == 'x{a="1"}'
    assert isinstance(node.rhs, Agg) and isinstance(node.rhs.param, Num)


def test_subquery_at_and_names_in_braces():
    node = parse_promql('max_over_time(rate({__name__="x", job="a"}[1m])[10m:1m] @ end()) > -Inf')
    assert isinstance(node, Binary) and isinstance(node.rhs, Num) and node.rhs.value == float("-inf")
    assert isinstance(node.lhs, Call)


@pytest.mark.parametrize("expr", ["sum by (a (x)", "x{a=1}", "rate(x[5m]", "x +", "x y"])
def test_unreadable_expressions_are_config_errors(expr):
    with pytest.raises(ConfigError, match="PromQL"):
        parse_promql(expr)


def test_on_label_missing_on_one_side():
    shapes, _ = shapes_of("sum by (instance) (pg_stat_activity_count) / on (server) max(pg_settings_max_connections)")
    (problem,) = shapes.problems
    assert problem.level == "error"
    assert "joins on (server) but the left side has no label server (its labels: instance)" in problem.problem


def test_default_matching_with_different_label_names():
    shapes, _ = shapes_of("pg_stat_activity_count / pg_settings_max_connections")
    (problem,) = shapes.problems
    assert "only left has datname, state" in problem.problem
    assert "ignoring (datname, state)" in problem.fix


def test_join_labels_present_but_no_pair_matches():
    shapes, _ = shapes_of("redis_memory_used_bytes / on (instance) pg_settings_max_connections")
    (problem,) = shapes.problems
    assert "no series on the left matches" in problem.problem and 'instance="localhost:9121"' in problem.problem


def test_many_to_one_without_group_left_is_an_error_unless_values_may_filter():
    shapes, _ = shapes_of("pg_stat_activity_count / on (instance) pg_settings_max_connections")
    assert [p.level for p in shapes.problems] == ["error"]
    assert "group_left" in shapes.problems[0].fix
    shapes, _ = shapes_of("(pg_stat_activity_count > 40) / on (instance) pg_settings_max_connections")
    assert [p.level for p in shapes.problems] == ["warning"]
    shapes, series = shapes_of("pg_stat_activity_count / on (instance) group_left pg_settings_max_connections")
    assert shapes.problems == [] and {s["state"] for s in series} == {"active", "idle"}


def test_result_labels_follow_prometheus():
    _, series = shapes_of("redis_memory_used_bytes / on (instance) redis_memory_max_bytes")
    assert series == [{"instance": "localhost:9121"}]  # on() keeps only the join labels
    _, series = shapes_of('label_replace(up{job="app"}, "host", "$1", "instance", "(.*):.*")')
    assert series[0]["host"] == "localhost"
    _, series = shapes_of("histogram_quantile(0.9, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))")
    assert series == [{"job": "app"}]
    _, series = shapes_of('absent(up{job="gone"})')
    assert series == [{"job": "gone"}]


def test_set_operators_check_joins_except_or():
    shapes, _ = shapes_of("pg_up == 1 and on (job) redis_up")
    assert "no series on the left matches" in shapes.problems[0].problem
    shapes, _ = shapes_of("pg_up or redis_up")
    assert shapes.problems == []
