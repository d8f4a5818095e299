"""A timeline per run: faults, load, alert state changes and notifications, in time order.

The report and every failed expectation show this record, so it is built as things happen rather
than reconstructed from logs. A background thread polls Prometheus (``/api/v1/alerts``) and
Alertmanager (``/api/v2/alerts``) every ~150 ms and records *changes* only; a second thread follows
the sink's long poll, so notifications carry the sink's exact receive time.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from alertdrill.errors import ConfigError, ObservationError

from .alertmanager import AlertmanagerClient, AmAlert
from .notifications import Notification, SinkClient
from .prometheus import ActiveAlert, PrometheusClient

__all__ = ["ROW_HEADER", "SOURCES", "Event", "Timeline", "format_labels"]

SOURCES = ("prometheus", "alertmanager", "sink", "fault", "load", "check")
ROW_HEADER = ("t", "source", "kind", "alert", "labels", "detail")
_LabelKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``time`` is unix seconds (wall clock, comparable with the sink's)."""

    time: float
    source: str
    kind: str
    alert: str | None = None
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    detail: str = ""

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """True when this event's labels include every given label."""
        return all(self.labels.get(k) == v for k, v in (labels or {}).items())


def format_labels(labels: Mapping[str, str]) -> str:
    """``{a="1", b="2"}`` without ``alertname`` (the alert column already names it)."""
    items = [f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "alertname"]
    return "{" + ", ".join(items) + "}" if items else ""


def _key(labels: Mapping[str, str]) -> _LabelKey:
    return tuple(sorted(labels.items()))


class Timeline:
    """Records events; optionally watches Prometheus, Alertmanager and the sink in the background.

    ``alerts`` are the alert names to watch (none: every alert). Use as a context manager to run
    the poller: ``with Timeline(prometheus=p, alertmanager=a, sink=s, alerts=["X"]) as tl: ...``.
    """

    def __init__(self, *, prometheus: PrometheusClient | None = None, alertmanager: AlertmanagerClient | None = None,
                 sink: SinkClient | None = None, alerts: Iterable[str] = (), poll_interval: float = 0.15,
                 max_events: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        if not 0.01 <= poll_interval <= 10:
            raise ConfigError(f"timeline poll_interval {poll_interval!r} must be between 0.01 and 10 seconds")
        # Own sessions: the poller threads must not share a requests.Session with the test's thread.
        self.prometheus = prometheus.clone() if prometheus is not None else None
        self.alertmanager = alertmanager.clone() if alertmanager is not None else None
        self.sink = sink.clone() if sink is not None else None
        self.poll_interval = poll_interval
        self.clock = clock
        self.started_at = clock()
        self.polls = 0
        self.dropped = 0
        self._watched: set[str] = set(alerts)
        self._events: deque[Event] = deque(maxlen=max_events)
        self._lock = threading.Lock()
        self._observing = threading.RLock()
        self._state: dict[tuple[str, str, _LabelKey], str] = {}
        self._resolved_at: dict[tuple[str, str, _LabelKey], float] = {}
        self._baseline: set[str] = set()
        self._errors: dict[str, str] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sink_cursor = 0

    # --- recording --------------------------------------------------------------------------------
    def watch(self, *names: str) -> None:
        """Add alert names to watch."""
        with self._lock:
            self._watched.update(names)

    def _watching(self, name: str) -> bool:
        return not self._watched or name in self._watched

    def record(self, source: str, kind: str, *, alert: str | None = None, labels: Mapping[str, str] | None = None,
               detail: str = "", at: float | None = None) -> Event:
        """Append one event (``at`` defaults to now)."""
        if source not in SOURCES:
            raise ConfigError(f"timeline source {source!r} is not one of {', '.join(SOURCES)}")
        event = Event(self.clock() if at is None else at, source, kind, alert, dict(labels or {}), detail)
        with self._lock:
            if len(self._events) == self._events.maxlen:
                self.dropped += 1
            self._events.append(event)
        return event

    def mark(self, kind: str, detail: str = "", *, source: str = "fault", alert: str | None = None,
             at: float | None = None) -> Event:
        """Record a fault or load step, e.g. ``mark("injected", "postgres stopped")`` (``at``: when, if not now)."""
        return self.record(source, kind, alert=alert, detail=detail, at=at)

    def _change(self, source: str, alert: str, labels: Mapping[str, str], state: str, at: float,
                detail: str = "") -> None:
        key = (source, alert, _key(labels))
        if self._state.get(key) != state:
            self._state[key] = state
            self.record(source, state, alert=alert, labels=labels, detail=detail, at=at)

    def _vanished(self, source: str, seen: set[tuple[str, str, _LabelKey]], at: float) -> None:
        for key in [k for k in self._state if k[0] == source and k not in seen]:
            before = self._state.pop(key)
            kind = "inactive" if source == "prometheus" and before == "pending" else "resolved"
            self.record(source, kind, alert=key[1], labels=dict(key[2]), detail=f"was {before}", at=at)

    def observe_prometheus(self, alerts: Iterable[ActiveAlert], at: float | None = None, *,
                           asked: float | None = None) -> None:
        """Record Prometheus state changes given one ``/api/v1/alerts`` answer.

        ``pending`` is stamped with the alert's ``activeAt`` (Prometheus' own evaluation time), other
        changes with the observation time ``at``. An answer to a request sent (``asked``) before a
        resolved notification's ``endsAt`` is older than that resolution and cannot undo it.
        """
        at = self.clock() if at is None else at
        with self._observing:
            seen = set()
            for alert in alerts:
                if not self._watching(alert.name):
                    continue
                key = ("prometheus", alert.name, _key(alert.labels))
                resolved_at = self._resolved_at.get(key)
                if asked is not None and resolved_at is not None and asked <= resolved_at:
                    continue  # a stale answer: the notification already told us it resolved
                seen.add(key)
                exact = alert.state == "pending" and alert.active_at is not None and alert.active_at <= at
                when = alert.active_at if exact and alert.active_at is not None else at
                detail = f"value={alert.value:g}" + (" (at activeAt)" if exact else "")
                self._change("prometheus", alert.name, alert.labels, alert.state, when, detail)
            self._vanished("prometheus", seen, at)
            for name in sorted(self._watched - self._baseline):
                self._baseline.add(name)
                if not any(k[1] == name for k in seen):
                    self.record("prometheus", "inactive", alert=name, detail="not pending or firing", at=at)

    def observe_alertmanager(self, alerts: Iterable[AmAlert], at: float | None = None) -> None:
        """Record Alertmanager state changes given one ``/api/v2/alerts`` answer."""
        at = self.clock() if at is None else at
        with self._observing:
            seen = set()
            for alert in alerts:
                if not self._watching(alert.name):
                    continue
                seen.add(("alertmanager", alert.name, _key(alert.labels)))
                why = []
                if alert.inhibited_by:
                    why.append(f"inhibitedBy={','.join(alert.inhibited_by)}")
                if alert.silenced_by:
                    why.append(f"silencedBy={','.join(alert.silenced_by)}")
                if alert.receivers:
                    why.append(f"receivers={','.join(alert.receivers)}")
                self._change("alertmanager", alert.name, alert.labels, alert.state, at, " ".join(why))
            self._vanished("alertmanager", seen, at)

    def observe_notification(self, note: Notification) -> None:
        """Record each watched alert in a notification: kind ``notified`` (firing) or ``resolved``.

        A resolved alert's ``endsAt`` is the evaluation at which Prometheus resolved it; if the poller
        has not seen that yet, the Prometheus ``resolved`` event is recorded at that exact time.
        """
        with self._observing:
            for alert in note.alerts:
                if not self._watching(alert.name):
                    continue
                kind = "notified" if alert.status == "firing" else "resolved"
                self.record("sink", kind, alert=alert.name, labels=alert.labels, at=note.received_at,
                            detail=f"receiver={note.receiver} seq={note.seq} group status={note.status}")
                key = ("prometheus", alert.name, _key(alert.labels))
                if kind == "resolved" and alert.ends_at:
                    self._resolved_at[key] = alert.ends_at
                if kind == "resolved" and alert.ends_at and self._state.get(key) == "firing":
                    del self._state[key]
                    self.record("prometheus", "resolved", alert=alert.name, labels=alert.labels, at=alert.ends_at,
                                detail="was firing (endsAt of the resolved notification)")

    # --- background polling -----------------------------------------------------------------------
    def poll_once(self) -> None:
        """One observation of Prometheus and Alertmanager; errors are recorded once, not raised."""
        self.polls += 1
        for source, client, observe in (("prometheus", self.prometheus, self.observe_prometheus),
                                        ("alertmanager", self.alertmanager, self.observe_alertmanager)):
            if client is None:
                continue
            asked = self.clock()
            try:
                alerts = client.alerts()
            except ObservationError as exc:
                self._error(source, str(exc))
                continue
            self._errors.pop(source, None)
            if source == "prometheus":
                self.observe_prometheus(alerts, self.clock(), asked=asked)
            else:
                observe(alerts, self.clock())

    def _error(self, source: str, message: str) -> None:
        if self._errors.get(source) != message:
            self._errors[source] = message
            self.record(source, "unreachable", detail=message)

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.poll_interval)

    def _sink_loop(self) -> None:
        assert self.sink is not None
        while not self._stop.is_set():
            try:
                batch = self.sink.poll(self._sink_cursor, wait=0.5)
            except ObservationError as exc:
                self._error("sink", str(exc))
                self._stop.wait(self.poll_interval)
                continue
            self._errors.pop("sink", None)
            self._sink_cursor = batch.next
            for note in batch.notifications:
                self.observe_notification(note)

    def start(self) -> Timeline:
        """Start the poller threads (daemon threads; :meth:`stop` ends them)."""
        if self._threads:
            return self
        self._stop.clear()
        targets = []
        if self.prometheus is not None or self.alertmanager is not None:
            targets.append(self._poll_loop)
        if self.sink is not None:
            targets.append(self._sink_loop)
        for target in targets:
            thread = threading.Thread(target=target, name=f"alertdrill-timeline-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop polling, take one last look (so the record reaches this moment), join the threads."""
        self._stop.set()
        threads, self._threads = self._threads, []
        for thread in threads:  # the API poller first: it returns as soon as its current poll ends
            thread.join(timeout=10)
            if thread.name.endswith("_poll_loop"):
                self.poll_once()
        if threads:
            self._drain_sink()

    def _drain_sink(self) -> None:
        if self.sink is None:
            return
        try:
            batch = self.sink.poll(self._sink_cursor, wait=0.0)
        except ObservationError as exc:
            self._error("sink", str(exc))
            return
        self._sink_cursor = batch.next
        for note in batch.notifications:
            self.observe_notification(note)

    def __enter__(self) -> Timeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- reading ----------------------------------------------------------------------------------
    def events(self, alert: str | None = None, *, source: str | None = None, kind: str | None = None,
               labels: Mapping[str, str] | None = None, since: float | None = None) -> list[Event]:
        """Events in time order, filtered; marks without an alert are kept when filtering by alert."""
        with self._lock:
            items = list(self._events)
        items.sort(key=lambda e: e.time)
        return [e for e in items
                if (alert is None or e.alert in (alert, None)) and (source is None or e.source == source)
                and (kind is None or e.kind == kind) and (since is None or e.time >= since) and e.matches(labels)]

    def first(self, kind: str, alert: str | None = None, **filters: Any) -> Event | None:
        """The earliest event of ``kind`` (for ``alert``), or None."""
        found = [e for e in self.events(alert, kind=kind, **filters) if alert is None or e.alert == alert]
        return found[0] if found else None

    def last(self, kind: str, alert: str | None = None, **filters: Any) -> Event | None:
        """The latest event of ``kind`` (for ``alert``), or None."""
        found = [e for e in self.events(alert, kind=kind, **filters) if alert is None or e.alert == alert]
        return found[-1] if found else None

    def as_rows(self, relative_to: float | None = None, alert: str | None = None) -> list[tuple[Any, ...]]:
        """Rows ``(t, source, kind, alert, labels, detail)``; ``t`` relative to ``relative_to`` if given."""
        base = relative_to or 0.0
        return [(round(e.time - base, 3), e.source, e.kind, e.alert or "", format_labels(e.labels), e.detail)
                for e in self.events(alert)]

    def format(self, relative_to: float | None = None, alert: str | None = None, limit: int = 60) -> str:
        """A plain-text table (the last ``limit`` rows) for error messages and logs."""
        base = relative_to if relative_to is not None else (self.events()[0].time if self.events() else 0.0)
        rows = self.as_rows(base, alert)
        lines = [f"{t:+9.3f}s  {src:<12} {kind:<12} {name} {labels} {detail}".rstrip()
                 for t, src, kind, name, labels, detail in rows[-limit:]]
        if len(rows) > limit:
            lines.insert(0, f"... {len(rows) - limit} earlier events")
        return "\n".join(lines) if lines else "(no events recorded)"

    def to_json(self) -> str:
        """All events as JSON (``{"events": [...], "started_at": ...}``)."""
        return json.dumps({"started_at": self.started_at, "polls": self.polls, "dropped": self.dropped,
                           "events": [asdict(e) for e in self.events()]}, indent=1)
