"""Against real Prometheus 2.42 + Alertmanager 0.25 + the sink process: a whole alert timeline.

The "fault" is a gauge the test sets; the rule is ``alertdrill_test_switch == 1`` for 2 s, scrape and
evaluation every 1 s, group_wait/group_interval 1 s. The test checks that the computed deadlines
hold the measured times and are not absurdly loose (< 3x the nominal minimum of DESIGN.md;
tests/assertions/test_deadline_bounds.py bounds them by the ideal pipeline's best and worst case).
"""

from __future__ import annotations

import itertools
import json
import time

import pytest

from alertdrill.assertions.expectations import expect_alert
from alertdrill.assertions.timeline import Timeline
from alertdrill.errors import ConfigError, ExpectationError

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def clients(live):
    return {"prometheus": live.prometheus, "alertmanager": live.alertmanager, "sink_client": live.sink}


def test_switch_alert_fires_is_delivered_and_resolves_within_computed_deadlines(live):
    live.sink.clear()
    with Timeline(prometheus=live.prometheus, alertmanager=live.alertmanager, sink=live.sink,
                  alerts=["TestSwitchOn"]) as timeline:
        alert = expect_alert("TestSwitchOn", {"severity": "warning"}, timeline=timeline, **clients(live))
        alert.precondition()
        alert.is_silent()
        fire, deliver, resolve = (alert.deadline("fire"), alert.deadline("deliver", "warning"),
                                  alert.deadline("resolve", "warning"))

        injected = timeline.mark("injected", "alertdrill_test_switch=1")
        live.switch.set(1)
        fired = alert.fires()
        [series] = live.prometheus.alerts_series("TestSwitchOn")
        assert series.state == "firing" and series.labels["job"] == "switch"
        assert series.active_at == pytest.approx(timeline.first("pending", "TestSwitchOn").time, abs=1.0)  # whole s
        delivered = alert.delivered_to("warning")
        with pytest.raises(ExpectationError) as wrong_receiver:
            alert.delivered_to("critical", within=0.2)
        reverted = timeline.mark("reverted", "alertdrill_test_switch=0")
        live.switch.set(0)
        resolved = alert.resolves()
        alert.no_flapping()

    # Deadlines come from the live config: 1 s scrape, 1 s evaluation, for 2 s, group_wait/interval 1 s.
    terms = {t.name: t.seconds for t in deliver.terms}
    assert terms == {"scrape interval": 1, "scrape timeout": 1, "evaluation interval": 1, "expression needs": 0,
                     "lookback delta": 0, "for": 2, "one more evaluation": 1, "group_wait": 1}
    assert "job 'switch'" in deliver.explain()
    minimum = {"fire": 1 + 1 + 2, "deliver": 1 + 1 + 2 + 1, "resolve": 1 + 1 + 1}
    for deadline, outcome in ((fire, fired), (deliver, delivered), (resolve, resolved)):
        assert outcome.measured <= deadline.seconds < 3 * minimum[deadline.what], (deadline.explain(), outcome)
    assert fired.measured >= 2.0, "cannot fire before `for` has passed"
    assert fired.anchor == injected.time and resolved.anchor == reverted.time
    assert delivered.evidence.receiver == "warning" and delivered.evidence.status == "firing"
    assert delivered.evidence.alerts[0].labels["severity"] == "warning"
    assert resolved.evidence.alerts[0].status == "resolved"

    message = str(wrong_receiver.value)
    assert "fired, but was delivered to 'warning', not 'critical'" in message  # says what happened (issue 12)
    assert "sink received: seq 1 firing to warning: TestSwitchOn" in message
    assert "Alertmanager routes this alert to: warning" in message

    # The timeline holds the whole story, in order, with state changes recorded once each.
    order = [("fault", "injected"), ("prometheus", "pending"), ("prometheus", "firing"), ("sink", "notified"),
             ("fault", "reverted"), ("prometheus", "resolved"), ("sink", "resolved")]
    times = []
    for source, kind in order:
        event = timeline.first(kind, "TestSwitchOn", source=source) if source != "fault" else timeline.first(kind)
        assert event is not None, f"no {source} {kind} event in\n{timeline.format()}"
        times.append(event.time)
    # Polled states are seen up to one poll late; exact stamps (sink, activeAt, endsAt) may precede them a little.
    assert all(later >= earlier - 0.2 for earlier, later in itertools.pairwise(times)), timeline.format()
    assert len(timeline.events("TestSwitchOn", source="prometheus", kind="firing")) == 1
    assert timeline.first("active", "TestSwitchOn", source="alertmanager") is not None
    rows = timeline.as_rows(relative_to=injected.time)
    assert any(row[1:3] == ("sink", "notified") and row[5].startswith("receiver=warning") for row in rows)
    assert json.loads(timeline.to_json())["events"]

    print("\n" + timeline.format(relative_to=injected.time))
    for deadline, outcome in ((fire, fired), (deliver, delivered), (resolve, resolved)):
        print(f"{deadline.what}: measured {outcome.measured:.3f} s, deadline {deadline.explain()}")

    # The sink process journaled both notifications.
    journal = [json.loads(line) for line in (live.workdir / "notifications.jsonl").read_text().splitlines()]
    assert {(n["receiver"], n["status"]) for n in journal} >= {("warning", "firing"), ("warning", "resolved")}


def test_fire_time_is_prometheus_own_evaluation_so_delivery_never_precedes_it(live):
    """No timeline, and the fire check looks only after the delivery: a polled fire time would come
    after the delivery; the firing transition Prometheus recorded cannot."""
    live.sink.clear()
    alert = expect_alert("TestSwitchOn", {"severity": "warning"}, **clients(live))
    alert.precondition()
    switched_on = time.time()
    try:
        live.switch.set(1)
        delivered = alert.delivered_to("warning", since=switched_on)
        looked = time.time()
        fired = alert.fires(since=switched_on)
    finally:
        switched_off = time.time()
        live.switch.set(0)
    assert fired.at <= delivered.at < looked, (fired.at, delivered.at, looked)
    assert fired.measured >= alert.rule.duration, "cannot fire before `for` has passed"
    stamps = [t for s in live.prometheus.raw_samples(
        'ALERTS{alertname="TestSwitchOn",alertstate="firing"}', switched_on, time.time()) for t, _ in s.values]
    assert fired.at == min(stamps), "the fire time is the evaluation that fired it"
    pending = fired.evidence.active_at
    assert pending is not None and pending + alert.rule.duration <= fired.at + 0.001  # samples: whole ms
    alert.resolves(since=switched_off, receiver="warning")


def test_alert_that_cannot_fire_stays_silent_and_explains_a_missed_deadline(live):
    alert = expect_alert("TestSwitchNever", {"severity": "warning"}, **clients(live))
    alert.precondition()
    silent = alert.stays_silent(during=1.5)
    assert silent.measured >= 1.5

    with pytest.raises(ExpectationError) as caught:
        alert.fires(within=0.5)
    message = str(caught.value)
    assert message.startswith("TestSwitchNever{severity=\"warning\"}: did not fire within 0.50 s")
    assert "deadline: 0.5 s given by the caller" in message
    assert "rule: alertdrill_test_switch == 42" in message
    assert "selector alertdrill_test_switch: 1 series" in message
    assert "expression now: returns no series" in message


def test_precondition_names_the_selector_that_returns_no_series(live):
    alert = expect_alert("TestMissingMetric", **clients(live))
    with pytest.raises(ExpectationError) as caught:
        alert.precondition()
    message = str(caught.value)
    assert "selector alertdrill_metric_that_does_not_exist_total returns no series" in message
    assert "selector up: 2 series" in message


def test_unknown_alert_name_lists_the_known_ones(live):
    with pytest.raises(ConfigError, match=r"no rule named NoSuchAlert in http://127\.0\.0\.1:\d+; known: "
                                          r"TestMissingMetric, TestSwitchHigh, TestSwitchInhibited, "
                                          r"TestSwitchNever, TestSwitchOn"):
        expect_alert("NoSuchAlert", **clients(live))


def test_clients_read_live_config_targets_and_routes(live):
    config = live.prometheus.config()
    assert config.scrape_interval == 1 and config.scrape_interval_for("switch") == 1
    targets = {t.job: t for t in live.prometheus.targets()}
    assert set(targets) == {"switch", "sink"} and all(t.health == "up" for t in targets.values())
    assert targets["switch"].scrape_interval == 1
    assert live.prometheus.flags()["web.enable-lifecycle"] == "true"
    rule = live.prometheus.rule("TestSwitchOn")
    assert (rule.duration, rule.group_interval, rule.labels) == (2, 1, {"severity": "warning"})
    timings = live.alertmanager.group_timings({"alertname": "TestSwitchOn", "severity": "warning"})
    assert (timings.group_wait, timings.group_interval, timings.repeat_interval, timings.receiver) == (
        1, 1, 3600, "warning")
    assert live.alertmanager.receiver_for({"severity": "other"}) == "default"
    assert sorted(live.alertmanager.receivers()) == ["critical", "default", "warning"]
    assert live.alertmanager.status().send_resolved("warning") is True
    assert live.prometheus.query("vector(3)")[0] == ({}, 3.0)


def test_inhibited_alert_is_suppressed_by_the_source_alert(live):
    alert = expect_alert("TestSwitchInhibited", **clients(live))
    source = expect_alert("TestSwitchHigh", **clients(live))
    alert.precondition()
    source.precondition()
    switched_on = time.time()
    try:
        live.switch.set(2)
        inhibited = alert.is_inhibited(by="TestSwitchHigh", since=switched_on)
        assert inhibited.evidence.state == "suppressed" and inhibited.evidence.inhibited_by
        assert inhibited.measured <= alert.deadline("inhibit").seconds
        with pytest.raises(ExpectationError, match=r"not inhibited by TestSwitchOn within 0\.10 s"):
            alert.is_inhibited(by="TestSwitchOn", within=0.1, since=inhibited.at)
        source.delivered_to("critical", since=switched_on)
    finally:
        switched_off = time.time()
        live.switch.set(0)
    source.resolves(since=switched_off)
    # While the source fired, the target was never notified. (Once both resolve in the same evaluation,
    # Alertmanager may flush the target before it has processed its resolution: a known race of
    # inhibition, which is why only the source's lifetime is asserted.)
    assert not [n for n in live.sink.notifications()
                if n.alerts_named("TestSwitchInhibited") and n.received_at < switched_off]


def test_reload_is_accepted(live):
    """Last on purpose: after a reload Prometheus needs up to 5 s to rediscover Alertmanager."""
    live.prometheus.reload()
    assert live.prometheus.ready()
