"""Expectations on one alert: it fires, is delivered, resolves, stays silent, does not flap.

Each check polls the live APIs (tenacity: ``stop_after_delay`` = the deadline, a fixed ~0.1 s wait;
delivery checks long-poll the sink instead, so they see a notification within milliseconds). A
deadline counts from an *anchor*: the timeline's last ``injected`` fault mark for fires/delivery, its
last ``reverted`` mark for resolves, otherwise the time of the call. Deadlines default to what the
live configuration allows (:mod:`.deadlines`); a failure raises ExpectationError with the deadline's
arithmetic, the rule, the value of each selector and the timeline.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import RetryError, Retrying, retry_if_exception_type, retry_if_result, stop_after_delay, wait_fixed

from alertdrill.errors import ConfigError, ExpectationError, ObservationError

from .alertmanager import AlertmanagerClient
from .deadlines import Deadline, Slack, TimingFacts, gather_timings
from .diagnostics import diagnose, selector_report
from .notifications import Notification, SinkClient
from .prometheus import ActiveAlert, AlertingRule, PrometheusClient
from .promql import Matcher
from .timeline import Timeline, format_labels

__all__ = ["AlertExpectation", "Outcome", "dropping_aggregation", "expect_alert"]

T = TypeVar("T")
ACTIVE = ("pending", "firing")


@dataclass(frozen=True)
class Outcome:
    """The record of one passed check: when it was anchored, when the evidence appeared, the deadline."""

    check: str
    alert: str
    labels: dict[str, str]
    anchor: float
    at: float
    deadline: Deadline | None = None
    evidence: Any = field(default=None, repr=False)

    @property
    def measured(self) -> float:
        """Seconds from the anchor to the evidence."""
        return self.at - self.anchor

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "alert": self.alert, "labels": self.labels, "anchor": self.anchor,
                "at": self.at, "measured": round(self.measured, 3),
                "deadline": self.deadline.to_dict() if self.deadline else None}


class AlertExpectation:
    """Checks for alert ``name`` (instances whose labels include ``labels``); build with :func:`expect_alert`."""

    def __init__(self, name: str, labels: Mapping[str, str] | None, *, prometheus: PrometheusClient,
                 alertmanager: AlertmanagerClient, sink_client: SinkClient, timeline: Timeline | None = None,
                 slack: Slack | None = None, poll_interval: float = 0.1) -> None:
        if not name:
            raise ConfigError("expect_alert needs an alert name")
        self.name, self.labels = name, dict(labels or {})
        self.prometheus, self.alertmanager, self.sink, self.timeline = prometheus, alertmanager, sink_client, timeline
        self.slack = slack or Slack()
        self.poll_interval = poll_interval
        self.rule: AlertingRule = prometheus.rule(name, self.labels)
        self.outcomes: list[Outcome] = []
        self.delivered_receivers: list[str] = []
        self._timings: dict[str | None, TimingFacts] = {}
        self._last_error: Exception | None = None
        if timeline is not None:
            timeline.watch(name)

    @property
    def title(self) -> str:
        return f"{self.name}{format_labels(self.labels)}"

    # --- deadlines --------------------------------------------------------------------------------
    def timings(self, receiver: str | None = None) -> TimingFacts:
        """Every timing term, read now from Prometheus and Alertmanager.

        Routing uses the labels of a pending/firing instance when there is one (they include
        ``job``/``instance`` that routes may match on), else the rule's static labels.
        """
        active = self._active()
        labels = {**active[0].labels, **self.labels} if active else self.labels
        try:
            facts = gather_timings(self.rule, self.prometheus, self.alertmanager, labels, receiver)
        except ObservationError:
            # The component being faulted may be Alertmanager itself: its timings were read before
            # the fault (e.g. by the precondition) and have not changed since, so use those.
            if receiver in self._timings:
                return self._timings[receiver]
            raise
        self._timings[receiver] = facts
        return facts

    def deadline(self, what: str, receiver: str | None = None) -> Deadline:
        """The computed ``fire``, ``deliver``, ``resolve`` or ``inhibit`` deadline."""
        facts = self.timings(receiver)
        makers: dict[str, Callable[[Slack], Deadline]] = {
            "fire": facts.fire, "deliver": facts.deliver, "resolve": facts.resolve, "inhibit": facts.inhibit}
        if what not in makers:
            raise ConfigError(f"unknown deadline {what!r}; one of {', '.join(makers)}")
        return makers[what](self.slack)

    def fault_anchor(self) -> float:
        """The last ``injected`` mark in the timeline, or now."""
        mark = self.timeline.last("injected", source="fault") if self.timeline else None
        return mark.time if mark else time.time()

    def revert_anchor(self) -> float:
        """The last ``reverted`` mark after the last injection, or now."""
        mark = self.timeline.last("reverted", source="fault") if self.timeline else None
        injected = self.timeline.last("injected", source="fault") if self.timeline else None
        if mark and (injected is None or mark.time >= injected.time):
            return mark.time
        return time.time()

    # --- helpers ----------------------------------------------------------------------------------
    def _matches(self, labels: Mapping[str, str], extra: Mapping[str, str] | None = None) -> bool:
        return all(labels.get(k) == v for k, v in {**self.labels, **(extra or {})}.items())

    def _active(self, states: tuple[str, ...] = ACTIVE) -> list[ActiveAlert]:
        return [a for a in self.prometheus.alerts()
                if a.name == self.name and a.state in states and self._matches(a.labels)]

    def _until(self, probe: Callable[[], T | None], limit: float, wait: float) -> T | None:
        """Run ``probe`` until it returns something or the wall clock passes ``limit`` (>= one try)."""
        self._last_error = None
        retrying = Retrying(stop=stop_after_delay(max(0.0, limit - time.time())), wait=wait_fixed(wait),
                            retry=retry_if_result(lambda r: r is None) | retry_if_exception_type(ObservationError))
        try:
            return retrying(probe)
        except RetryError as exc:
            if exc.last_attempt.failed:
                self._last_error = exc.last_attempt.exception()
            return None

    def _earliest(self, kind: str, source: str, anchor: float, default: float) -> float:
        """The timeline's first ``kind`` event after ``anchor`` if it is earlier than ``default``."""
        event = None
        if self.timeline is not None:
            event = self.timeline.first(kind, self.name, source=source, since=anchor, labels=self.labels)
        return min(default, event.time) if event else default

    def _pass(self, check: str, anchor: float, at: float, deadline: Deadline | None = None, evidence: Any = None,
              expected: str = "") -> Outcome:
        if deadline is not None and at - anchor > deadline.seconds:
            raise self._fail(check, f"{check} only after {at - anchor:.2f} s, later than the deadline",
                             expected, deadline, anchor)
        outcome = Outcome(check, self.name, dict(self.labels), anchor, at, deadline, evidence)
        self.outcomes.append(outcome)
        if self.timeline is not None:
            limit = f" (deadline {deadline.seconds:.2f} s)" if deadline else ""
            self.timeline.record("check", check, alert=self.name, labels=self.labels, at=time.time(),
                                 detail=f"ok after {outcome.measured:.3f} s{limit}")
        return outcome

    def _fail(self, check: str, summary: str, expected: str, deadline: Deadline | None, anchor: float | None,
              extra: list[str] | None = None) -> ExpectationError:
        if self.timeline is not None:
            self.timeline.record("check", f"{check} failed", alert=self.name, labels=self.labels, detail=summary)
        lines = [f"{self.title}: {summary}", f"  expected: {expected}"]
        if deadline is not None:
            lines.append(f"  deadline: {deadline.explain()}")
        if self._last_error is not None:
            lines.append(f"  last observation error: {self._last_error}")
        lines.extend(extra or [])
        lines.append(diagnose(name=self.name, labels=self.labels, rule=self.rule, prometheus=self.prometheus,
                              alertmanager=self.alertmanager, timeline=self.timeline, anchor=anchor))
        return ExpectationError("\n".join(lines))

    def _notes_since(self, since: float) -> list[Notification]:
        try:
            return [n for n in self.sink.notifications() if n.received_at >= since]
        except ObservationError:
            return []

    def _other_labels(self) -> str:
        """When the alert is active only with other labels than expected: what it fired as, the label
        it lacks, and the aggregation in the rule that drops it; empty otherwise."""
        others = [a for a in self.prometheus.alerts() if a.name == self.name and a.state in ACTIVE]
        if not others:
            return ""
        alert = others[0]
        wrong = {k: v for k, v in self.labels.items() if alert.labels.get(k) != v}
        parts = [f"fired as {alert.name}{format_labels(alert.labels)} ({alert.state})"]
        for key, value in sorted(wrong.items()):
            have = alert.labels.get(key)
            parts.append(f'expected label {key}="{value}"' + (f', it has "{have}"' if have is not None else
                                                               ", it has none"))
            culprit = dropping_aggregation(self.rule.query, key) if have is None else None
            if culprit:
                parts.append(f"the rule's `{culprit}` drops it")
        return "; ".join(parts)

    def _sink_lines(self, since: float) -> list[str]:
        try:
            notes = [n for n in self.sink.notifications() if n.received_at >= since]
        except ObservationError as exc:
            return [f"  sink: unavailable ({exc})"]
        if not notes:
            return ["  sink received: nothing since the anchor"]
        return ["  sink received: " + "; ".join(
            f"seq {n.seq} {n.status} to {n.receiver}: " + ", ".join(f"{a.name}{format_labels(a.labels)} {a.status}"
                                                                     for a in n.alerts) for n in notes[-5:])]

    def _route_lines(self) -> list[str]:
        try:
            receivers = self.alertmanager.receivers_for({**self.rule.labels, **self.labels, "alertname": self.name})
            return [f"  Alertmanager routes this alert to: {', '.join(receivers)}"]
        except (ObservationError, ConfigError) as exc:
            return [f"  Alertmanager routes: unavailable ({exc})"]

    # --- checks -----------------------------------------------------------------------------------
    def precondition(self) -> Outcome:
        """Before a fault: the rule is healthy, the alert is not pending/firing, every selector has series."""
        now = time.time()
        problems = []
        if self.rule.health == "err":
            problems.append(f"the rule does not evaluate: {self.rule.last_error}")
        active = self._active()
        if active:
            problems.append("fired at baseline, before any fault: already "
                            + ", ".join(f"{a.state} {format_labels(a.labels)}" for a in active))
        for text, samples, description in selector_report(self.prometheus, self.rule.query):
            if samples is None or not samples:
                problems.append(f"selector {text} {description}")
        if problems:
            raise self._fail("precondition", "precondition not met: " + "; ".join(problems),
                             "not pending or firing, and every selector of the rule returns series", None, None)
        return self._pass("precondition", now, now, None, expected="")

    def is_silent(self) -> Outcome:
        """Now: not pending/firing in Prometheus and not active in Alertmanager."""
        now = time.time()
        active = [f"Prometheus {a.state} {format_labels(a.labels)}" for a in self._active()]
        active += [f"Alertmanager {a.state} {format_labels(a.labels)}"
                   for a in self.alertmanager.alerts({"alertname": self.name, **self.labels}) if a.state == "active"]
        if active:
            raise self._fail("is_silent", "is not silent: " + ", ".join(active), "no pending/firing/active alert",
                             None, None)
        return self._pass("is_silent", now, now)

    def fires(self, within: float | None = None, *, since: float | None = None) -> Outcome:
        """Prometheus shows the alert firing within the fire deadline after the anchor."""
        anchor = since if since is not None else self.fault_anchor()
        deadline = Deadline.fixed("fire", within) if within is not None else self.deadline("fire")
        found = self._until(lambda: next(iter(self._active(("firing",))), None), anchor + deadline.seconds,
                            self.poll_interval)
        if found is None:
            raise self._fail("fires", self._other_labels() or f"did not fire within {deadline.seconds:.2f} s",
                             "Prometheus state firing", deadline, anchor)
        at = self.firing_transition(found, anchor)
        if at is None:
            at = self._earliest("firing", "prometheus", anchor, time.time())
        return self._pass("fires", anchor, at, deadline, found, "Prometheus state firing")

    def firing_transition(self, alert: ActiveAlert, anchor: float) -> float | None:
        """Prometheus' own time of ``alert``'s firing transition after ``anchor``, not when a poll saw it.

        The first ``ALERTS{alertstate="firing"}`` sample after the anchor is stamped with the evaluation
        that fired it; if the series cannot be read, ``activeAt`` (the evaluation that made it pending)
        plus ``for`` rounded up to the group's evaluation grid. None when neither is known.
        """
        labels = {**alert.labels, "alertstate": "firing"}
        selector = "ALERTS{" + ",".join(str(Matcher(k, "=", v)) for k, v in sorted(labels.items())) + "}"
        try:
            stamps = [t for series in self.prometheus.raw_samples(selector, anchor, time.time())
                      for t, _ in series.values]
        except ObservationError:
            stamps = []
        if stamps:
            return min(stamps)
        if alert.active_at is None:
            return None
        interval = self.rule.group_interval
        steps = math.ceil(self.rule.duration / interval - 1e-9) if interval > 0 else 0
        return alert.active_at + steps * interval

    def delivered_to(self, receiver: str, within: float | None = None, labels: Mapping[str, str] | None = None,
                     *, since: float | None = None) -> Outcome:
        """A firing notification for this alert (with ``labels``) reached the sink for ``receiver``."""
        anchor = since if since is not None else self.fault_anchor()
        deadline = Deadline.fixed("deliver", within) if within is not None else self.deadline("deliver", receiver)
        limit = anchor + deadline.seconds
        found = self._wait_notification(receiver, "firing", labels, anchor, limit, lambda: True)
        expected = f"a firing notification to receiver {receiver!r}"
        if found is None:
            elsewhere = sorted({n.receiver for n in self._notes_since(anchor)
                                if n.alerts_named(self.name, {**self.labels, **(labels or {})}, "firing")
                                and receiver not in (n.receiver, n.payload_receiver)})
            summary = (f"fired, but was delivered to {', '.join(map(repr, elsewhere))}, not {receiver!r}" if elsewhere
                       else f"no firing notification to {receiver!r} within {deadline.seconds:.2f} s")
            raise self._fail(f"delivered_to({receiver})", summary, expected, deadline, anchor,
                             self._sink_lines(anchor) + self._route_lines())
        self.delivered_receivers.append(receiver)
        return self._pass(f"delivered_to({receiver})", anchor, found.received_at, deadline, found, expected)

    def _wait_notification(self, receiver: str | None, status: str, labels: Mapping[str, str] | None,
                           anchor: float, limit: float, ready: Callable[[], bool],
                           idle_wait: float = 2.0) -> Notification | None:
        """Long-poll the sink until a matching notification arrives; ``ready`` gates the long wait."""
        cursor = 0
        want = {**self.labels, **(labels or {})}

        def probe() -> Notification | None:
            nonlocal cursor
            remaining = max(0.0, limit - time.time())
            batch = self.sink.poll(cursor, min(remaining, idle_wait if ready() else self.poll_interval))
            cursor = batch.next
            for note in batch.notifications:
                if (note.received_at >= anchor and note.alerts_named(self.name, want, status)
                        and (receiver is None or receiver in (note.receiver, note.payload_receiver))):
                    return note
            return None

        return self._until(probe, limit, 0.0)

    def resolves(self, within: float | None = None, *, receiver: str | None = None,
                 since: float | None = None, seen_from: float | None = None) -> Outcome:
        """Inactive in Prometheus and a resolved notification delivered (to ``receiver`` or where firing went).

        The deadline counts from ``since`` (the end of the revert); ``seen_from`` (the start of a slow
        revert, e.g. a Prometheus reload) lets a resolution that happened while reverting count too.
        """
        anchor = since if since is not None else self.revert_anchor()
        window = min(seen_from, anchor) if seen_from is not None else anchor
        receiver = receiver or (self.delivered_receivers[-1] if self.delivered_receivers else None)
        deadline = Deadline.fixed("resolve", within) if within is not None else self.deadline("resolve", receiver)
        expected = f"inactive in Prometheus and a resolved notification to {receiver or 'any receiver'!r}"
        if receiver and self.alertmanager.status().send_resolved(receiver) is False:
            raise self._fail("resolves", f"receiver {receiver!r} has send_resolved: false, so no resolved "
                             "notification will come; set send_resolved: true in alertmanager.yml", expected,
                             deadline, anchor)
        inactive_at: list[float] = []

        def prom_inactive() -> bool:
            if not inactive_at and not self._active():
                inactive_at.append(time.time())
            return bool(inactive_at)

        limit = anchor + deadline.seconds
        note = self._wait_notification(receiver, "resolved", None, window, limit, prom_inactive)
        if note is not None and not prom_inactive():
            self._until(lambda: True if prom_inactive() else None, limit, self.poll_interval)
        if note is None or not inactive_at:
            state = "still pending/firing in Prometheus" if not inactive_at else "no resolved notification"
            raise self._fail("resolves", f"did not resolve within {deadline.seconds:.2f} s ({state})", expected,
                             deadline, anchor, self._sink_lines(anchor))
        # endsAt of a resolved alert is the evaluation at which Prometheus resolved it: exact, not polled.
        ends = [a.ends_at for a in note.alerts_named(self.name, self.labels, "resolved") if a.ends_at]
        seen_inactive = min(inactive_at[0], note.received_at, *ends)
        for kind in ("resolved", "inactive"):
            seen_inactive = self._earliest(kind, "prometheus", window, seen_inactive)
        # Resolved while the revert was still running counts as resolved at once.
        return self._pass("resolves", anchor, max(anchor, seen_inactive, note.received_at), deadline, note, expected)

    def inactive(self, within: float | None = None, *, since: float | None = None) -> Outcome:
        """Inactive in Prometheus within the resolve deadline: for an alert that was never notified
        (inhibited, or its Alertmanager was down), so no resolved notification can come. The time is
        when the timeline saw it resolve, not when this check happened to look."""
        anchor = since if since is not None else self.revert_anchor()
        deadline = Deadline.fixed("resolve", within) if within is not None else self.deadline("resolve")
        found = self._until(lambda: True if not self._active() else None, anchor + deadline.seconds,
                            self.poll_interval)
        if found is None:
            still = self._active()
            raise self._fail("inactive", f"still {still[0].state if still else 'active'} "
                             f"{time.time() - anchor:.1f} s after the fault was reverted",
                             "inactive in Prometheus", deadline, anchor)
        at = time.time()
        for kind in ("resolved", "inactive"):
            at = self._earliest(kind, "prometheus", anchor, at)
        return self._pass("inactive", anchor, max(anchor, at), deadline, None, "inactive in Prometheus")

    def stays_silent(self, during: float, *, since: float | None = None, why: str = "") -> Outcome:
        """Never pending or firing for ``during`` seconds from ``since`` (default: now): polled, then
        checked in Prometheus' own ``ALERTS`` series, so a short episode between polls is seen too.
        ``why`` names what an activation would mean (e.g. a second firing episode)."""
        if during <= 0:
            raise ConfigError(f"stays_silent(during={during!r}) needs a positive number of seconds")
        start = time.time() if since is None else since
        found = self._until(lambda: next(iter(self._active()), None), start + during, self.poll_interval)
        expected = f"never pending or firing for {during:g} s" + (f" ({why})" if why else "")
        what = f"{why}: " if why else ""
        if found is not None:
            raise self._fail("stays_silent", f"{what}became {found.state} {format_labels(found.labels)} "
                             f"{time.time() - start:.2f} s into the {during:g} s window", expected,
                             Deadline.fixed("silence", during), start)
        end = max(time.time(), start + during)
        matchers = ",".join(f'{k}="{v}"' for k, v in {"alertname": self.name, **self.labels}.items())
        # One point per evaluation (at most 1 s apart), from one step after the start: the evaluation
        # that resolved the alert wrote the staleness marker that ends its ALERTS series there.
        step = max(min(self.rule.group_interval or 1.0, 1.0), during / 10_000)
        series = self.prometheus.query_range(f"ALERTS{{{matchers}}}", start + step, max(end, start + 2 * step), step)
        if series:
            states = sorted({s.labels.get("alertstate", "?") for s in series})
            raise self._fail("stays_silent", f"{what}ALERTS shows it {'/'.join(states)} during the window", expected,
                             Deadline.fixed("silence", during), start)
        return self._pass("stays_silent", start, end, None)

    def no_flapping(self) -> Outcome:
        """At most one firing episode per label set per fault window.

        A window runs from an ``injected`` mark to the ``reverting`` mark that ends it (or the next
        injection). What happens while a fault is being undone is judged by :meth:`resolves`: undoing
        a configuration fault reloads Prometheus, which can show a resolved alert for one more
        evaluation without notifying anyone again.
        """
        if self.timeline is None:
            raise ConfigError(f"no_flapping() on {self.title} needs a timeline")
        starts = [e.time for e in self.timeline.events(source="fault", kind="injected")] or [float("-inf")]
        starts[0] = float("-inf")
        reverts = [e.time for e in self.timeline.events(source="fault", kind="reverting")]
        firing = [e for e in self.timeline.events(self.name, source="prometheus", kind="firing", labels=self.labels)
                  if e.alert == self.name]
        for i, begin in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else float("inf")
            end = min([r for r in reverts if begin <= r < end] or [end])
            episodes: dict[str, int] = {}
            for event in firing:
                if begin <= event.time < end:
                    key = format_labels(event.labels)
                    episodes[key] = episodes.get(key, 0) + 1
            flapped = {k: n for k, n in episodes.items() if n > 1}
            if flapped:
                raise self._fail("no_flapping", f"fired {max(flapped.values())} times in fault window {i + 1}: "
                                 + ", ".join(f"{k or '{}'} x{n}" for k, n in flapped.items()),
                                 "at most one firing episode per fault", None, None)
        now = time.time()
        return self._pass("no_flapping", now, now)

    def is_inhibited(self, by: str | None = None, within: float | None = None, *,
                     since: float | None = None) -> Outcome:
        """Alertmanager holds the alert as suppressed by an inhibition (by an alert named ``by``)."""
        anchor = since if since is not None else self.fault_anchor()
        deadline = Deadline.fixed("inhibit", within) if within is not None else self.deadline("inhibit")

        def probe() -> Any:
            for alert in self.alertmanager.alerts({"alertname": self.name, **self.labels}):
                if alert.state != "suppressed" or not alert.inhibited_by:
                    continue
                if by is None:
                    return alert
                names = {a.fingerprint: a.name for a in self.alertmanager.alerts()}
                if any(names.get(fp) == by for fp in alert.inhibited_by):
                    return alert
            return None

        found = self._until(probe, anchor + deadline.seconds, self.poll_interval)
        expected = f"suppressed in Alertmanager, inhibited by {by or 'any alert'}"
        if found is None:
            raise self._fail("is_inhibited", f"not inhibited{' by ' + by if by else ''} within "
                             f"{deadline.seconds:.2f} s", expected, deadline, anchor)
        return self._pass("is_inhibited", anchor, time.time(), None, found, expected)


_AGGREGATION = re.compile(
    r"\b(sum|avg|min|max|count|group|stddev|stdvar|topk|bottomk|quantile|count_values)\s*"
    r"(?:(by|without)\s*\(([^)]*)\)\s*)?\(")


def dropping_aggregation(query: str, label: str) -> str | None:
    """The first aggregation in ``query`` whose result has no ``label`` (``sum by (datname)``,
    ``avg without (instance)``, a bare ``max(...)``), as written; None when every one keeps it."""
    for match in _AGGREGATION.finditer(query):
        op, mode, listed = match.group(1), match.group(2), match.group(3)
        names = {n.strip() for n in (listed or "").split(",") if n.strip()}
        if mode is None:
            trailing = re.match(r"\s*(by|without)\s*\(([^)]*)\)", query[_closing(query, match.end() - 1) + 1:])
            if trailing:
                mode, names = trailing.group(1), {n.strip() for n in trailing.group(2).split(",") if n.strip()}
        if (mode is None) or (mode == "by" and label not in names) or (mode == "without" and label in names):
            return f"{op} {mode} ({', '.join(sorted(names))})" if mode else f"{op}(...)"
    return None


def _closing(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return len(text) - 1


def expect_alert(name: str, labels: Mapping[str, str] | None = None, *, prometheus: PrometheusClient,
                 alertmanager: AlertmanagerClient, sink_client: SinkClient, timeline: Timeline | None = None,
                 slack: Slack | None = None, poll_interval: float = 0.1) -> AlertExpectation:
    """Expectations on alert ``name``; ConfigError at once if Prometheus has no such rule."""
    return AlertExpectation(name, labels, prometheus=prometheus, alertmanager=alertmanager,
                            sink_client=sink_client, timeline=timeline, slack=slack, poll_interval=poll_interval)
