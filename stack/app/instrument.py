"""Flask hooks that measure every request and apply the fault switch.

The metrics hooks are registered before the fault hook, so injected latency and injected errors are
measured exactly like real ones. ``/metrics`` is left out of the request metrics (scrapes would
otherwise dominate them) and, with ``/status``, out of fault injection, so a drill never blinds the
monitoring or fails the liveness probe.
"""

from __future__ import annotations

import random
import time

from flask import Flask, Response, g, request

from .exceptions import InjectedFault
from .faults import FaultSwitch
from .metrics import AppMetrics

__all__ = ["UNMATCHED", "endpoint_label", "install"]

UNMATCHED = "unmatched"
NOT_MEASURED = frozenset({"/metrics"})
NOT_FAULTED = frozenset({"/metrics", "/status"})
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def endpoint_label() -> str:
    """The Flask url rule of this request (bounded cardinality), or 'unmatched'."""
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def install(app: Flask, metrics: AppMetrics, faults: FaultSwitch) -> None:
    """Register the measuring and fault-injecting hooks on ``app``."""

    @app.before_request
    def _start_measuring() -> None:
        if endpoint_label() in NOT_MEASURED:
            return
        g.metrics_started = time.perf_counter()
        g.metrics_in_flight = True
        metrics.in_flight.inc()

    @app.before_request
    def _inject_fault() -> None:
        if endpoint_label() in NOT_FAULTED:
            return
        fault = faults.current()
        g.drop_writes = fault.drop_writes
        if fault.latency_ms > 0:
            time.sleep(fault.latency_ms / 1000.0)
        if fault.error_ratio > 0 and random.random() < fault.error_ratio:
            raise InjectedFault()

    @app.after_request
    def _record(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            method = request.method if request.method in KNOWN_METHODS else "OTHER"
            metrics.observe(method, endpoint_label(), response.status_code, time.perf_counter() - started)
        return response

    @app.teardown_request
    def _finish(_exc: BaseException | None) -> None:
        # teardown runs even when after_request did not, so the gauge cannot leak upwards.
        if g.pop("metrics_in_flight", False):
            metrics.in_flight.dec()
