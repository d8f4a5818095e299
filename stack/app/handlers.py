"""JSON error responses for everything that can go wrong, so clients never see an HTML traceback.

* 4xx/405 from Flask/werkzeug -> ``{"error": reason}`` with the original status and headers (Allow).
* :class:`DependencyUnavailable` -> 503 ``{"error", "dependency", "dependencies"}``.
* :class:`InjectedFault` and every other exception -> 500, counted in
  ``http_request_exceptions_total`` by class name (injected faults count like real bugs).
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Response as BaseResponse

from .exceptions import DependencyUnavailable, InjectedFault
from .instrument import endpoint_label
from .metrics import AppMetrics

__all__ = ["error_response", "install"]

log = logging.getLogger(__name__)

# An outage under load would otherwise log one line per request.
OUTAGE_LOG_INTERVAL_S = 10.0
_last_outage_log: dict[str, float] = {}
_outage_log_lock = threading.Lock()


def error_response(code: int, error: str, /, **extra: object) -> tuple[Response, int]:
    """A JSON error body ``{"error": ..., **extra}`` with HTTP status ``code``."""
    return jsonify({"error": error, **extra}), code


def install(app: Flask, metrics: AppMetrics) -> None:
    """Register the JSON error handlers on ``app``."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> BaseResponse | HTTPException:
        if exc.code is None or exc.code < 400:
            return exc  # e.g. werkzeug's RequestRedirect: keep the redirect as it is
        response = exc.get_response()
        reason = exc.description or exc.name
        if isinstance(exc, NotFound | MethodNotAllowed) and reason == type(exc).description:
            reason = f"{exc.name.lower()}: {request.method} {request.path}"  # werkzeug's text is generic
        response.set_data(jsonify({"error": reason}).get_data())
        response.content_type = "application/json"
        return response

    @app.errorhandler(DependencyUnavailable)
    def _dependency_down(exc: DependencyUnavailable) -> tuple[Response, int]:
        _log_outage(exc)
        return error_response(
            503, f"{' and '.join(exc.dependencies)} unavailable",
            dependency=exc.dependency, dependencies=list(exc.dependencies), detail=exc.detail,
        )

    @app.errorhandler(InjectedFault)
    def _injected(exc: InjectedFault) -> tuple[Response, int]:
        metrics.exceptions.labels(endpoint_label(), type(exc).__name__).inc()
        return error_response(500, "injected fault")

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> tuple[Response, int]:
        metrics.exceptions.labels(endpoint_label(), type(exc).__name__).inc()
        log.exception("unhandled exception")
        return error_response(500, "internal server error", exception=type(exc).__name__)


def _log_outage(exc: DependencyUnavailable) -> None:
    """Warn about an unavailable dependency at most once per OUTAGE_LOG_INTERVAL_S per dependency."""
    now = time.monotonic()
    with _outage_log_lock:
        last = _last_outage_log.get(exc.dependency)
        if last is not None and now - last < OUTAGE_LOG_INTERVAL_S:
            return
        _last_outage_log[exc.dependency] = now
    log.warning("answering 503: %s", exc)
