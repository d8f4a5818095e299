"""The timeline records state changes once each, in time order, with exact stamps where the APIs give them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from alertdrill.assertions.alertmanager import AmAlert
from alertdrill.assertions.expectations import expect_alert
from alertdrill.assertions.notifications import Notification, NotifiedAlert
from alertdrill.assertions.prometheus import ActiveAlert, AlertingRule
from alertdrill.assertions.sink import NotificationSink
from alertdrill.assertions.timeline import Timeline
from alertdrill.errors import ConfigError, ExpectationError

FIRING = json.loads((Path(__file__).parent / "data" / "webhook_firing.json").read_text())

LABELS = {"alertname": "PostgresDown", "job": "postgres", "severity": "critical"}


def prom(state, active_at=100.0, labels=LABELS):
    return ActiveAlert(labels["alertname"], dict(labels), {}, state, active_at, 1.0)


def am(state, inhibited_by=()):
    return AmAlert(dict(LABELS), {}, state, tuple(inhibited_by), (), ("pager",), "fp1", 100.0, None, None)


def kinds(timeline, source=None):
    return [(e.source, e.kind) for e in timeline.events(source=source)]


def test_records_changes_only_not_every_poll():
    tl = Timeline(alerts=["PostgresDown"])
    tl.observe_prometheus([], at=99.0)
    for at in (100.5, 100.7, 100.9):
        tl.observe_prometheus([prom("pending")], at=at)
    for at in (102.1, 102.3):
        tl.observe_prometheus([prom("firing")], at=at)
    tl.observe_prometheus([], at=110.0)
    tl.observe_prometheus([], at=110.2)
    assert [(e.kind, e.time) for e in tl.events(source="prometheus")] == [
        ("inactive", 99.0), ("pending", 100.0), ("firing", 102.1), ("resolved", 110.0)]
    assert tl.first("pending", "PostgresDown").detail == "value=1 (at activeAt)"


def test_pending_that_never_fires_goes_back_to_inactive_and_other_alerts_are_ignored():
    tl = Timeline(alerts=["PostgresDown"])
    other = prom("firing", labels={"alertname": "Unwatched"})
    tl.observe_prometheus([prom("pending"), other], at=101.0)
    tl.observe_prometheus([other], at=102.0)
    assert [e.kind for e in tl.events(source="prometheus")] == ["pending", "inactive"]
    assert tl.events("Unwatched") == []


def test_label_sets_are_tracked_separately():
    tl = Timeline(alerts=["PostgresDown"])
    replica = {**LABELS, "instance": "replica"}
    tl.observe_prometheus([prom("firing"), prom("pending", labels=replica)], at=101.0)
    tl.observe_prometheus([prom("firing"), prom("firing", labels=replica)], at=102.0)
    assert len(tl.events(kind="firing")) == 2
    assert [e.time for e in tl.events(kind="firing", labels={"instance": "replica"})] == [102.0]


def test_alertmanager_states_and_inhibition_detail():
    tl = Timeline(alerts=["PostgresDown"])
    tl.observe_alertmanager([am("active")], at=103.0)
    tl.observe_alertmanager([am("suppressed", ["fp9"])], at=104.0)
    tl.observe_alertmanager([], at=105.0)
    assert kinds(tl) == [("alertmanager", "active"), ("alertmanager", "suppressed"), ("alertmanager", "resolved")]
    assert "inhibitedBy=fp9" in tl.first("suppressed").detail


def test_resolved_notification_stamps_prometheus_resolution_with_ends_at():
    tl = Timeline(alerts=["PostgresDown"])
    tl.observe_prometheus([prom("firing")], at=102.0)
    alert = NotifiedAlert(dict(LABELS), {}, "resolved", 100.0, 108.0, "fp1")
    tl.observe_notification(Notification(7, 109.0, "pager", "pager", "resolved", "g", (alert,)))
    tl.observe_prometheus([], at=109.5)  # the poller sees it later: not recorded twice
    assert [(e.source, e.kind, e.time) for e in tl.events()[-2:]] == [
        ("prometheus", "resolved", 108.0), ("sink", "resolved", 109.0)]
    assert len(tl.events(kind="resolved", source="prometheus")) == 1


def test_marks_first_last_rows_and_json():
    clock = iter([199.0, 201.0, 201.5, 202.5])
    tl = Timeline(clock=lambda: next(clock))
    tl.mark("injected", "postgres stopped")
    tl.mark("steady", "50 users", source="load")
    tl.record("prometheus", "firing", alert="PostgresDown", labels=LABELS, at=201.5)
    tl.mark("reverted", "postgres started")
    assert tl.first("injected").time == 201.0 and tl.last("reverted").time == 202.5
    assert tl.as_rows(relative_to=201.0) == [
        (0.0, "fault", "injected", "", "", "postgres stopped"),
        (0.5, "load", "steady", "", "", "50 users"),
        (0.5, "prometheus", "firing", "PostgresDown", '{job="postgres", severity="critical"}', ""),
        (1.5, "fault", "reverted", "", "", "postgres started")]
    assert [e["kind"] for e in json.loads(tl.to_json())["events"]] == ["injected", "steady", "firing", "reverted"]
    assert "+0.500s  prometheus   firing       PostgresDown" in tl.format(201.0)


def test_bounded_and_validated():
    tl = Timeline(max_events=3)
    for i in range(5):
        tl.mark("step", str(i), source="load")
    assert [e.detail for e in tl.events()] == ["2", "3", "4"] and tl.dropped == 2
    with pytest.raises(ConfigError, match="source"):
        tl.record("nowhere", "x")
    with pytest.raises(ConfigError, match="poll_interval"):
        Timeline(poll_interval=0)


def test_background_thread_follows_the_sink_long_poll():
    with NotificationSink() as sink, Timeline(sink=sink.client(), alerts=["TestSwitchOn"]) as tl:
        requests.post(f"{sink.url}/warning", json=FIRING, timeout=5)
        note = sink.notifications()[0]
        # the sink thread records it within milliseconds; stop() drains whatever is left
    [event] = tl.events(source="sink")
    assert (event.kind, event.time, event.alert) == ("notified", note.received_at, "TestSwitchOn")
    assert event.detail.startswith("receiver=warning seq=1")


# --- no_flapping() judges from the timeline alone ---------------------------------------------------
class RuleOnly:
    """Just enough of a Prometheus client for expect_alert() to find the rule; no_flapping needs nothing else."""

    def rule(self, name, labels=None):
        return AlertingRule(name, "pg_up == 0", 60.0, 0.0, {}, {}, "inactive", "ok", "", "pg", "pg.yml", 15.0, None)

    def query(self, expr, time=None):
        return []

    def alerts(self):
        return []


def flapping_timeline(firings_per_fault):
    tl = Timeline(alerts=["PostgresDown"])
    t = 1000.0
    for count in firings_per_fault:
        tl.record("fault", "injected", at=t)
        for _ in range(count):
            tl.observe_prometheus([prom("firing")], at=t + 1)
            tl.observe_prometheus([], at=t + 2)
            t += 2
        tl.record("fault", "reverted", at=t + 1)
        t += 10
    return tl


def test_no_flapping_allows_one_episode_per_fault():
    tl = flapping_timeline([1, 1])
    outcome = expect_alert("PostgresDown", prometheus=RuleOnly(), alertmanager=None, sink_client=None,
                           timeline=tl).no_flapping()
    assert outcome.check == "no_flapping"


def test_no_flapping_fails_on_two_episodes_in_one_fault_window():
    tl = flapping_timeline([1, 2])
    alert = expect_alert("PostgresDown", prometheus=RuleOnly(), alertmanager=None, sink_client=None, timeline=tl)
    with pytest.raises(ExpectationError, match=r"fired 2 times in fault window 2: \{job=\"postgres\", "
                                               r"severity=\"critical\"\} x2"):
        alert.no_flapping()


def test_a_blip_while_the_fault_is_being_undone_is_not_flapping_but_one_before_is():
    """Undoing a configuration fault reloads Prometheus, which can show the resolved alert once more."""
    tl = Timeline(alerts=["PostgresDown"])
    tl.record("fault", "injected", at=1000.0)
    tl.observe_prometheus([prom("firing")], at=1005.0)
    tl.record("fault", "reverting", at=1010.0)
    tl.observe_prometheus([], at=1012.0)
    tl.observe_prometheus([prom("firing")], at=1012.2)  # the blip during the revert
    tl.observe_prometheus([], at=1013.0)
    tl.record("fault", "reverted", at=1014.0)
    alert = expect_alert("PostgresDown", prometheus=RuleOnly(), alertmanager=None, sink_client=None, timeline=tl)
    assert alert.no_flapping().check == "no_flapping"
    tl.observe_prometheus([], at=1003.0)  # add a second episode inside the fault window itself
    tl.record("prometheus", "firing", alert="PostgresDown", labels=LABELS, at=1007.0)
    with pytest.raises(ExpectationError, match="fired 2 times in fault window 1"):
        alert.no_flapping()


def test_a_poll_answer_older_than_a_resolution_does_not_count_as_firing_again():
    """Seen in a drill: a resolved notification arrives while an /api/v1/alerts request that was sent
    before the resolution is still in flight; its stale 'firing' must not open a second episode."""
    tl = Timeline(alerts=["PostgresDown"])
    tl.observe_prometheus([prom("firing")], at=102.0, asked=101.9)
    resolved = NotifiedAlert(dict(LABELS), {}, "resolved", 100.0, 108.0, "fp1")
    tl.observe_notification(Notification(8, 108.2, "pager", "pager", "resolved", "g", (resolved,)))
    tl.observe_prometheus([prom("firing")], at=108.3, asked=107.95)  # sent before endsAt: stale
    assert [e.kind for e in tl.events(source="prometheus")] == ["firing", "resolved"]
    tl.observe_prometheus([prom("firing", active_at=120.0)], at=121.0, asked=120.9)  # a new episode
    assert [e.kind for e in tl.events(source="prometheus")] == ["firing", "resolved", "firing"]
