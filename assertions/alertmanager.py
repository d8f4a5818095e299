"""Alertmanager v2 API client: alerts with their state, receivers, config and route timings.

Delivery deadlines need the ``group_wait``/``group_interval`` of the route an alert lands on; they
are read from the *running* config (``/api/v2/status`` serves it as YAML) and resolved with
:mod:`.routing`, so a change to alertmanager.yml changes the deadlines with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from alertdrill.errors import ConfigError, ObservationError

from .httpapi import DEFAULT_TIMEOUT, JsonApi, parse_time
from .routing import Route

__all__ = ["AlertmanagerClient", "AmAlert", "AmStatus", "GroupTimings"]


@dataclass(frozen=True)
class AmAlert:
    """An alert as Alertmanager holds it; ``state`` is active, suppressed or unprocessed."""

    labels: dict[str, str]
    annotations: dict[str, str]
    state: str
    inhibited_by: tuple[str, ...]
    silenced_by: tuple[str, ...]
    receivers: tuple[str, ...]
    fingerprint: str
    starts_at: float | None
    ends_at: float | None
    updated_at: float | None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")


@dataclass(frozen=True)
class GroupTimings:
    """Timings (seconds) of the route an alert is dispatched to, and where they come from."""

    group_wait: float
    group_interval: float
    repeat_interval: float
    receiver: str
    route: str
    group_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class AmStatus:
    """``/api/v2/status``: the running config (parsed) and its route tree."""

    config: dict[str, Any] = field(repr=False)
    route: Route = field(repr=False)
    version: str = ""
    uptime: str = ""
    cluster_status: str = ""

    def send_resolved(self, receiver: str) -> bool | None:
        """Whether every webhook of ``receiver`` sends resolved notifications (None: no webhooks)."""
        for rec in self.config.get("receivers") or []:
            if rec.get("name") == receiver:
                hooks = rec.get("webhook_configs") or []
                return all(h.get("send_resolved", True) for h in hooks) if hooks else None
        return None


def _matcher_arg(name: str, value: str) -> str:
    return '{}="{}"'.format(name, value.replace("\\", "\\\\").replace('"', '\\"'))


class AlertmanagerClient(JsonApi):
    """Client for one Alertmanager (``url`` like ``http://127.0.0.1:9093``)."""

    service = "Alertmanager"
    hint = "check that Alertmanager runs and listens there (its log, --web.listen-address)"

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, session: Any = None) -> None:
        super().__init__(url, timeout=timeout, session=session)

    def alerts(self, labels: Mapping[str, str] | None = None, *, active: bool = True, silenced: bool = True,
               inhibited: bool = True, unprocessed: bool = True, receiver: str | None = None) -> list[AmAlert]:
        """Alerts Alertmanager holds (resolved ones excluded), filtered by equality on ``labels``."""
        params: list[tuple[str, str]] = [("filter", _matcher_arg(k, v)) for k, v in (labels or {}).items()]
        for key, flag in (("active", active), ("silenced", silenced), ("inhibited", inhibited),
                          ("unprocessed", unprocessed)):
            params.append((key, "true" if flag else "false"))
        if receiver:
            params.append(("receiver", receiver))
        body = self.request("GET", "/api/v2/alerts", params=params)
        if not isinstance(body, list):
            raise ObservationError(
                f"Alertmanager at {self.url}/api/v2/alerts: expected a list, got {type(body).__name__}")
        return [_alert(a) for a in body]

    def receivers(self) -> list[str]:
        """Names of the configured receivers."""
        return [r["name"] for r in self.request("GET", "/api/v2/receivers")]

    def status(self) -> AmStatus:
        """The running config (``config.original`` parsed) with its route tree."""
        body = self.request("GET", "/api/v2/status")
        try:
            text = body["config"]["original"]
            config = yaml.safe_load(text) or {}
        except (KeyError, TypeError, yaml.YAMLError) as exc:
            raise ObservationError(
                f"Alertmanager at {self.url}/api/v2/status: no readable config.original ({exc}); "
                "check that the URL points at Alertmanager >= 0.16") from exc
        cluster = body.get("cluster") or {}
        return AmStatus(config=config, route=Route.from_config(config),
                        version=(body.get("versionInfo") or {}).get("version", ""),
                        uptime=body.get("uptime", ""), cluster_status=cluster.get("status", ""))

    def routes_for(self, labels: Mapping[str, str]) -> list[Route]:
        """Every route an alert with ``labels`` is dispatched to (several with ``continue: true``)."""
        return self.status().route.match(labels)

    def group_timings(self, labels: Mapping[str, str], receiver: str | None = None) -> GroupTimings:
        """Timings of the route for ``labels``: the first match, or the match that uses ``receiver``."""
        routes = self.routes_for(labels)
        if receiver is not None:
            chosen = [r for r in routes if r.receiver == receiver]
            if not chosen:
                raise ConfigError(
                    f"Alertmanager at {self.url} routes {dict(labels)} to {[r.receiver for r in routes]}, "
                    f"not to receiver {receiver!r}; check alertmanager.yml's route tree")
            routes = chosen
        route = routes[0]
        return GroupTimings(route.group_wait, route.group_interval, route.repeat_interval, route.receiver,
                            route.path, route.group_by)

    def receiver_for(self, labels: Mapping[str, str]) -> str:
        """The receiver of the first route ``labels`` match."""
        return self.routes_for(labels)[0].receiver

    def receivers_for(self, labels: Mapping[str, str]) -> list[str]:
        """All receivers an alert with ``labels`` is sent to."""
        return [r.receiver for r in self.routes_for(labels)]

    def ready(self) -> bool:
        """True when Alertmanager answers ``/-/ready`` with 200; never raises."""
        return self.is_ready("/-/ready")


def _alert(raw: Mapping[str, Any]) -> AmAlert:
    status = raw.get("status") or {}
    return AmAlert(
        labels=dict(raw.get("labels") or {}), annotations=dict(raw.get("annotations") or {}),
        state=status.get("state", ""), inhibited_by=tuple(status.get("inhibitedBy") or ()),
        silenced_by=tuple(status.get("silencedBy") or ()),
        receivers=tuple(r.get("name", "") for r in raw.get("receivers") or ()),
        fingerprint=raw.get("fingerprint", ""), starts_at=parse_time(raw.get("startsAt")),
        ends_at=parse_time(raw.get("endsAt")), updated_at=parse_time(raw.get("updatedAt")))
