"""Selector extraction from real-world alerting expressions (no evaluation, a tokenizer and rules)."""

from __future__ import annotations

import pytest

from alertdrill.assertions.promql import Matcher, selectors, tokenize
from alertdrill.errors import ConfigError

CASES = [
    # instance down, with and without absent()
    ('up{job="postgres"} == 0', ['up{job="postgres"}']),
    ('up{job="redis"} == 0 or absent(up{job="redis"})', ['up{job="redis"}']),
    # error ratio: aggregation by, regex matcher, range vectors, on/group_left
    ('sum by (job) (rate(http_requests_total{status=~"5.."}[5m])) / on(job) group_left '
     'sum by (job) (rate(http_requests_total[5m])) > 0.05',
     ['http_requests_total{status=~"5.."}', "http_requests_total"]),
    # latency quantile from histogram buckets
    ("histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[5m])) by (le, route)) > 0.5",
     ["http_request_duration_seconds_bucket"]),
    # postgres connections near the limit, ignoring() and a bool comparison
    ('sum(pg_stat_activity_count) by (instance) / ignoring(datname) max(pg_settings_max_connections) by (instance) '
     '> bool 0.8', ["pg_stat_activity_count", "pg_settings_max_connections"]),
    # redis memory, single-quoted and backtick strings, comments
    ("redis_memory_used_bytes{instance!='x'} / redis_memory_max_bytes{role=`master`} > 0.9  # 90 %",
     ['redis_memory_used_bytes{instance!="x"}', 'redis_memory_max_bytes{role="master"}']),
    # time() and a recording-rule name with colons
    ("time() - process_start_time_seconds < 60 and job:up:avg5m < 1", ["process_start_time_seconds", "job:up:avg5m"]),
    # subquery, offset, @ modifier
    ("max_over_time(rate(node_cpu_seconds_total{mode!=\"idle\"}[1m])[10m:30s]) > 0.9 unless "
     "node_load1 offset 1h @ end() > 100",
     ['node_cpu_seconds_total{mode!="idle"}', "node_load1"]),
    # __name__ matcher only, without(), topk
    ('topk(3, sum without (instance) ({__name__=~"job:.*:rate5m", env="prod"})) > 10',
     ['{__name__=~"job:.*:rate5m",env="prod"}']),
    # label_replace strings must not look like selectors; count_values string argument
    ('count_values("version", label_replace(build_info{job="app"}, "v", "$1", "version", "(.*)")) > 1',
     ['build_info{job="app"}']),
    # increase with a trailing comma in the matcher list and numbers in scientific notation
    ('increase(redis_rejected_connections_total{job="redis",}[2m]) > 1e0',
     ['redis_rejected_connections_total{job="redis"}']),
    # nested parentheses, unary minus, scalar(), vector(), Inf
    ("((-(scalar(pg_up) - 1)) * vector(1)) > -Inf or ((pg_replication_lag)) > 30",
     ["pg_up", "pg_replication_lag"]),
    # aggregation with by clause before the body and group_right
    ("avg by(instance)(node_memory_MemAvailable_bytes) / on(instance) group_right(job) "
     "node_memory_MemTotal_bytes < 0.1",
     ["node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes"]),
]


@pytest.mark.parametrize(("expr", "expected"), CASES)
def test_selectors(expr, expected):
    assert [s.text for s in selectors(expr)] == expected


def test_range_offset_and_matchers_are_kept():
    sel = selectors('rate(http_requests_total{status=~"5..", job="api"}[5m] offset 1m)')[0]
    assert sel.metric == "http_requests_total"
    assert sel.matchers == (Matcher("status", "=~", "5.."), Matcher("job", "=", "api"))
    assert (sel.range, sel.offset, sel.label_value("job")) == ("5m", "1m", "api")
    assert str(sel) == 'http_requests_total{status=~"5..",job="api"}[5m] offset 1m'


def test_duplicates_removed_in_order():
    assert [s.text for s in selectors("a + b + a > a")] == ["a", "b"]


def test_escapes_round_trip_into_query_text():
    sel = selectors(r'x{path="a\"b\\c", q="\n"}')[0]
    assert sel.matchers[0].value == 'a"b\\c' and sel.matchers[1].value == "\n"
    assert sel.text == r'x{path="a\"b\\c",q="\n"}'


def test_tokens_and_durations():
    kinds = [(t.kind, t.text) for t in tokenize("rate(x[1h30m]) > 0x1F")]
    assert ("duration", "1h30m") in kinds and ("number", "0x1F") in kinds


@pytest.mark.parametrize("expr", ['x{job="a"', "x{job=}", "x{=\"a\"}", "x ; y", "{}"])
def test_bad_expressions_raise_config_error(expr):
    with pytest.raises(ConfigError, match="PromQL"):
        selectors(expr)
