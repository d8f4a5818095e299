"""Deadline arithmetic: the formula of DESIGN.md's timing model, slack, and the explanation text."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from alertdrill.assertions.alertmanager import GroupTimings
from alertdrill.assertions.deadlines import Deadline, Slack, Term, TimingFacts, gather_timings
from alertdrill.assertions.prometheus import AlertingRule, PrometheusConfig
from alertdrill.errors import ConfigError


def facts(scrape=15.0, evaluation=30.0, for_=300.0, keep=0.0, window=0.0, wait=30.0, interval=300.0):
    return TimingFacts(
        scrape=Term("scrape interval", scrape, "job 'api'"), evaluation=Term("evaluation interval", evaluation, "g"),
        for_=Term("for", for_, "rule"), keep_firing_for=Term("keep_firing_for", keep, "rule"),
        range_window=Term("range window", window, "expr"), group_wait=Term("group_wait", wait, "route"),
        group_interval=Term("group_interval", interval, "route"))


def test_fire_deliver_resolve_formulas_with_default_slack():
    f, slack = facts(), Slack()
    assert (slack.absolute, slack.fraction) == (1.0, 0.10)
    fire = f.fire(slack)
    assert fire.base == 15 + 30 + 300 + 30
    assert fire.seconds == pytest.approx(375 * 1.1 + 1)
    assert f.deliver(slack).base == 375 + 30
    assert f.deliver(slack).seconds == pytest.approx(405 * 1.1 + 1)
    assert f.resolve(slack).base == 15 + 30 + 0 + 0 + 300
    assert f.inhibit(slack).base == 375 + 30


def test_resolve_adds_keep_firing_for_and_the_longest_range_window():
    f = facts(keep=60, window=120)
    assert f.resolve(Slack(0, 0)).seconds == 15 + 30 + 60 + 120 + 300


def test_time_scaled_drill_numbers():
    f = facts(scrape=1, evaluation=1, for_=2, wait=1, interval=1)
    assert f.fire(Slack()).seconds == pytest.approx(6.5)
    assert f.deliver(Slack()).seconds == pytest.approx(7.6)
    assert f.resolve(Slack()).seconds == pytest.approx(4.3)


def test_explain_names_each_term_its_value_and_source():
    text = facts().deliver(Slack()).explain()
    assert text.startswith("446.5 s (7m27s) = scrape interval 15 s (job 'api') + evaluation interval 30 s (g) + "
                           "for 300 s (5m) (rule)")
    assert "+ group_wait 30 s (route) + slack 41.5 s (1 s + 10%)" in text
    assert "keep_firing_for" not in facts().resolve(Slack()).explain()  # zero terms are left out
    assert "for 0 s" in facts(for_=0).fire(Slack()).explain()  # ... except `for`, which is always shown
    assert Deadline.fixed("fire", 5).explain() == "5 s given by the caller (within=)"
    assert Deadline.fixed("fire", 5).seconds == 5
    assert facts().fire(Slack()).to_dict()["terms"][0] == {"name": "scrape interval", "seconds": 15.0,
                                                           "source": "job 'api'"}


def test_long_deadlines_print_as_durations():
    assert facts(for_=3600).fire(Slack(0, 0)).explain().startswith("3675 s (1h1m15s) = ")


@pytest.mark.parametrize("bad", [dict(absolute=-1), dict(fraction=1.5), dict(fraction=-0.1)])
def test_slack_is_validated(bad):
    with pytest.raises(ConfigError, match="slack"):
        Slack(**bad)


def test_fixed_deadline_rejects_negative():
    with pytest.raises(ConfigError):
        Deadline.fixed("fire", -1)


# --- gather_timings: which values are picked from the live config (clients stubbed in-process) ------------
@dataclass
class StubPrometheus:
    jobs: set[str]
    intervals: dict[str, float]

    def config(self):
        return PrometheusConfig(15.0, 30.0, self.intervals, {})

    def jobs_of(self, texts):
        list(texts)
        return self.jobs


class StubAlertmanager:
    def __init__(self):
        self.asked = None

    def group_timings(self, labels, receiver=None):
        self.asked = (labels, receiver)
        return GroupTimings(10.0, 60.0, 3600.0, receiver or "pager", "route.routes[1]")


def rule(query, interval=20.0):
    return AlertingRule("ApiErrors", query, 120.0, 30.0, {"severity": "critical"}, {}, "inactive", "ok", "", "api",
                        "rules.yml", interval, None)


def test_gather_uses_the_slowest_job_and_the_route_for_the_labels():
    am = StubAlertmanager()
    f = gather_timings(rule('rate(errors_total[5m]) / rate(requests_total[1m]) > 0.1'),
                       StubPrometheus({"api", "edge"}, {"api": 5.0, "edge": 10.0}), am, {"team": "web"}, "chat")
    assert (f.scrape.seconds, f.scrape.source) == (10.0, "job 'edge' (max over jobs api, edge), /api/v1/status/config")
    assert (f.evaluation.seconds, f.for_.seconds, f.keep_firing_for.seconds) == (20.0, 120.0, 30.0)
    assert (f.range_window.seconds, f.group_wait.seconds, f.group_interval.seconds) == (300.0, 10.0, 60.0)
    assert am.asked == ({"severity": "critical", "team": "web", "alertname": "ApiErrors"}, "chat")


def test_gather_prefers_job_matchers_and_falls_back_to_the_global_interval():
    by_matcher = gather_timings(rule('up{job="api"} == 0'), StubPrometheus(set(), {"api": 5.0}),
                                StubAlertmanager(), {})
    assert by_matcher.scrape.seconds == 5.0 and by_matcher.range_window.seconds == 0
    unknown = gather_timings(rule("missing_metric > 0", interval=0), StubPrometheus(set(), {}), StubAlertmanager(), {})
    assert (unknown.scrape.seconds, unknown.evaluation.seconds) == (15.0, 30.0)
    assert "global scrape_interval" in unknown.scrape.source


def test_gather_falls_back_to_the_actual_route_when_the_receiver_is_not_routed():
    class RoutesElsewhere(StubAlertmanager):
        def group_timings(self, labels, receiver=None):
            if receiver is not None:
                raise ConfigError("not routed")
            return GroupTimings(2.0, 4.0, 3600.0, "chat", "route.routes[0]")

    f = gather_timings(rule("x > 0"), StubPrometheus(set(), {}), RoutesElsewhere(), {}, "pager")
    assert f.group_wait.seconds == 2.0 and "-> chat, NOT pager" in f.group_wait.source


# --- what the expression needs, the scrape timeout and the bounds of the ideal pipeline ----------------
def test_fire_counts_the_window_only_where_the_expression_waits_for_it():
    prom = StubPrometheus({"api"}, {"api": 5.0})
    rate = gather_timings(rule("rate(errors_total[5m]) > 10"), prom, StubAlertmanager(), {})
    moved = gather_timings(rule("increase(errors_total[5m]) > 0"), prom, StubAlertmanager(), {})
    peak = gather_timings(rule("max_over_time(errors[5m]) > 3"), prom, StubAlertmanager(), {})
    assert (rate.needs.seconds, moved.needs.seconds, peak.needs.seconds) == (300.0, 0.0, 0.0)
    assert rate.needs.source == "rate(errors_total[5m]) > 10: new samples fill the window"
    assert moved.needs.source == "increase(errors_total[5m]) > 0: one fault-time sample decides"
    assert rate.fire(Slack(0, 0)).seconds - moved.fire(Slack(0, 0)).seconds == 300
    # Resolving still waits for the fault-time samples to leave every window.
    assert rate.range_window.seconds == moved.range_window.seconds == peak.range_window.seconds == 300


def test_an_age_threshold_and_the_scrape_timeout_are_terms():
    class WithTimeouts(StubPrometheus):
        def config(self):
            return PrometheusConfig(15.0, 30.0, self.intervals, {}, 10.0, {"db": 3.0})

    f = gather_timings(rule('count by (instance) (pg_long_running_query_seconds{job="db"} > 120) >= 3'),
                       WithTimeouts(set(), {"db": 5.0}), StubAlertmanager(), {})
    assert (f.needs.seconds, f.scrape_duration.seconds) == (120.0, 3.0)
    assert "an age reaches its threshold" in f.needs.source and f.scrape_duration.source.startswith("job 'db'")
    terms = [t.name for t in f.fire(Slack()).terms]
    assert terms == ["scrape interval", "scrape timeout", "evaluation interval", "expression needs",
                     "lookback delta", "for", "one more evaluation"]
    # The timeout never exceeds the interval (Prometheus refuses that), and the global one applies by default.
    assert PrometheusConfig(1.0, 1.0, {"x": 1.0}, {}, 10.0, {}).scrape_timeout_for("x") == 1.0


def test_bounds_of_the_ideal_pipeline():
    f = TimingFacts(
        scrape=Term("scrape interval", 15, "j"), evaluation=Term("evaluation interval", 30, "g"),
        for_=Term("for", 300, "r"), keep_firing_for=Term("keep_firing_for", 0, "r"),
        range_window=Term("range window", 300, "w"), group_wait=Term("group_wait", 30, "route"),
        group_interval=Term("group_interval", 300, "route"), scrape_duration=Term("scrape timeout", 10, "j"),
        needs=Term("expression needs", 300, "rate"))
    b = f.bounds()
    assert (b.best_fire, b.best_deliver) == (300, 330)
    assert (b.worst_fire, b.worst_deliver) == (15 + 30 + 300 + 300 + 30, 15 + 30 + 300 + 300 + 30 + 30)
    # The deadline is the worst case plus the scrape's own duration and slack.
    assert f.deliver(Slack(0, 0)).seconds == b.worst_deliver + 10
    # Pending: no `for`, no evaluation grid.
    assert f.pending(Slack(0, 0)).seconds == 15 + 10 + 30 + 300


def test_an_expression_the_tree_cannot_read_counts_its_longest_window():
    f = gather_timings(rule("rate(x_total[2m]) > 1 unknown_syntax ("), StubPrometheus(set(), {}),
                       StubAlertmanager(), {})
    assert f.needs.seconds == 120 and "expression not analysed" in f.needs.source
