"""What the sink records for each webhook call, and the client that reads it back.

A :class:`Notification` is the proof of delivery: which receiver got which alerts with which status,
stamped with the sink's wall-clock receive time. :class:`SinkClient` reads them over HTTP with a long
poll, so an expectation learns about a delivery within milliseconds without polling fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from alertdrill.errors import ObservationError

from .httpapi import DEFAULT_TIMEOUT, JsonApi, parse_time

__all__ = ["MAX_WAIT", "Notification", "NotifiedAlert", "SinkBatch", "SinkClient", "parse_webhook"]

#: Longest long poll the sink honours, seconds.
MAX_WAIT = 30.0


@dataclass(frozen=True)
class NotifiedAlert:
    """One alert inside a webhook payload (times as unix seconds, None for Go's zero time)."""

    labels: dict[str, str]
    annotations: dict[str, str]
    status: str
    starts_at: float | None
    ends_at: float | None
    fingerprint: str

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")


@dataclass(frozen=True)
class Notification:
    """One POST from Alertmanager as the sink received it.

    ``receiver`` is the receiver named by the URL path (``/<receiver>``), falling back to the
    payload's ``receiver``; ``payload_receiver`` is what Alertmanager wrote in the body.
    """

    seq: int
    received_at: float
    receiver: str
    payload_receiver: str
    status: str
    group_key: str
    alerts: tuple[NotifiedAlert, ...]
    group_labels: dict[str, str] = field(default_factory=dict)
    common_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    truncated_alerts: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the journal line and the ``/notifications`` item)."""
        data = asdict(self)
        data["alerts"] = list(data["alerts"])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notification:
        alerts = tuple(NotifiedAlert(**a) for a in data.get("alerts", ()))
        return cls(**{**data, "alerts": alerts})

    def alerts_named(self, name: str, labels: Mapping[str, str] | None = None,
                     status: str | None = None) -> list[NotifiedAlert]:
        """The alerts in this notification called ``name`` whose labels include ``labels``."""
        return [a for a in self.alerts if a.name == name and (status is None or a.status == status)
                and all(a.labels.get(k) == v for k, v in (labels or {}).items())]


def parse_webhook(payload: Any, *, path_receiver: str, received_at: float, seq: int) -> Notification:
    """A Notification from an Alertmanager webhook body (version 4); ValueError when it is not one."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("alerts"), list):
        raise ValueError("not an Alertmanager webhook payload: no 'alerts' list")
    alerts = []
    for raw in payload["alerts"]:
        if not isinstance(raw, Mapping):
            raise ValueError("an entry of 'alerts' is not an object")
        alerts.append(NotifiedAlert(
            labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
            annotations={str(k): str(v) for k, v in (raw.get("annotations") or {}).items()},
            status=str(raw.get("status", "")), starts_at=parse_time(raw.get("startsAt")),
            ends_at=parse_time(raw.get("endsAt")), fingerprint=str(raw.get("fingerprint", ""))))
    payload_receiver = str(payload.get("receiver", ""))
    return Notification(
        seq=seq, received_at=received_at, receiver=path_receiver or payload_receiver,
        payload_receiver=payload_receiver, status=str(payload.get("status", "")),
        group_key=str(payload.get("groupKey", "")), alerts=tuple(alerts),
        group_labels=dict(payload.get("groupLabels") or {}), common_labels=dict(payload.get("commonLabels") or {}),
        external_url=str(payload.get("externalURL", "")), truncated_alerts=int(payload.get("truncatedAlerts") or 0))


@dataclass(frozen=True)
class SinkBatch:
    """One long-poll answer: the notifications with seq >= since, and the seq to ask for next."""

    next: int
    notifications: list[Notification]


class SinkClient(JsonApi):
    """Reads a running sink (``python -m alertdrill.assertions.sink``) over HTTP."""

    service = "notification sink"
    hint = "check that the sink process runs (python -m alertdrill.assertions.sink) and listens there"

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, session: Any = None) -> None:
        super().__init__(url, timeout=timeout, session=session)

    def poll(self, since: int = 0, wait: float = 0.0) -> SinkBatch:
        """Notifications with seq >= ``since``; waits up to ``wait`` s (max 30) for the first one."""
        wait = max(0.0, min(float(wait), MAX_WAIT))
        body = self.request("GET", "/notifications", params={"since": since, "wait": f"{wait:.3f}"},
                            timeout=self.timeout + wait)
        try:
            return SinkBatch(int(body["next"]), [Notification.from_dict(n) for n in body["notifications"]])
        except (KeyError, TypeError, ValueError) as exc:
            raise ObservationError(f"notification sink at {self.url}/notifications: unexpected answer "
                                   f"({exc}); check that the URL points at the alertdrill sink") from exc

    def notifications(self) -> list[Notification]:
        """Everything the sink holds now (since the last clear)."""
        return self.poll(0, 0.0).notifications

    def clear(self) -> None:
        """Forget held notifications (between scenarios); sequence numbers keep growing."""
        self.request("DELETE", "/notifications")

    def ready(self) -> bool:
        """True when the sink answers ``/-/ready``; never raises."""
        return self.is_ready("/-/ready")
