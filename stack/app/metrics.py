"""The API's Prometheus metrics, correct under several gunicorn workers.

Why it is built this way:

* prometheus_client's multiprocess mode: each worker writes its samples to mmap files in
  ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` (served by any worker) merges the files of all of
  them. The value class is chosen from the environment when prometheus_client is first imported and
  the file names are taken from the environment when a metric is created, so :func:`bind_metrics`
  makes sure both point at the configured directory before the metrics exist.
* The metrics are created once per process and never registered in the default registry: the
  default registry also holds the per-process ``process_*``/``python_*`` collectors, which would
  describe only the worker answering the scrape. ``/metrics`` uses a private registry holding the
  multiprocess merge plus :class:`ProcessTreeCollector` for the whole gunicorn tree.
* The maximum latency gauge uses ``livemax`` so a dead worker's maximum disappears with it
  (gunicorn_conf's ``child_exit`` calls ``mark_process_dead``), and is refreshed by a thread every
  second so a maximum ages out of the window even when no request arrives.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

from alertdrill.errors import ConfigError

from .latency import SlidingMax
from .proctree import ProcessTreeCollector
from .settings import ENV_MULTIPROC_DIR

__all__ = ["DURATION_BUCKETS", "AppMetrics", "bind_metrics", "exposition_registry", "render_metrics"]

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_REFRESH_INTERVAL_S = 1.0


@dataclass
class AppMetrics:
    """The request metrics of this process; one instance per process, see :func:`bind_metrics`."""

    multiproc_dir: Path
    window_s: float
    requests: Counter = field(init=False)
    duration: Histogram = field(init=False)
    exceptions: Counter = field(init=False)
    in_flight: Gauge = field(init=False)
    duration_max: Gauge = field(init=False)
    sliding_max: SlidingMax = field(init=False)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "http_requests_total", "HTTP requests by method, Flask url rule and status code.",
            ["method", "endpoint", "status"], registry=None,
        )
        self.duration = Histogram(
            "http_request_duration_seconds", "HTTP request duration by method and Flask url rule.",
            ["method", "endpoint"], buckets=DURATION_BUCKETS, registry=None,
        )
        self.exceptions = Counter(
            "http_request_exceptions_total", "Unhandled exceptions while serving a request, by class.",
            ["endpoint", "exception"], registry=None,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "Requests being served right now.",
            registry=None, multiprocess_mode="livesum",
        )
        self.duration_max = Gauge(
            "http_request_duration_max_seconds",
            "Maximum request duration in the last minute, by Flask url rule.",
            ["endpoint"], registry=None, multiprocess_mode="livemax",
        )
        self.sliding_max = SlidingMax(self.window_s)
        threading.Thread(target=self._refresh_max_forever, name="latency-max-refresh", daemon=True).start()

    def zero_error_series(self, routes: list[tuple[str, str]]) -> None:
        """Export 500 and 503 counts as 0 for every route before the first error happens.

        An error-ratio alert divides the 5xx rate by the total; with no 5xx series at all the
        numerator is "no data" rather than 0, the alert's selectors look broken, and a dashboard
        shows a gap instead of a flat zero (Prometheus' own advice: initialise known label values).
        """
        for method, endpoint in routes:
            for status in ("500", "503"):
                self.requests.labels(method, endpoint, status)

    def observe(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        """Record one finished request."""
        self.requests.labels(method, endpoint, str(status)).inc()
        self.duration.labels(method, endpoint).observe(seconds)
        self.duration_max.labels(endpoint).set(self.sliding_max.observe(endpoint, seconds))

    def _refresh_max_forever(self) -> None:
        while True:
            time.sleep(MAX_REFRESH_INTERVAL_S)
            for endpoint, maximum in self.sliding_max.snapshot().items():
                self.duration_max.labels(endpoint).set(maximum)


_bound: AppMetrics | None = None
_bind_lock = threading.Lock()


def bind_metrics(multiproc_dir: Path, window_s: float = 60.0) -> AppMetrics:
    """Create this process's metrics in multiprocess mode, writing to ``multiproc_dir``.

    Idempotent within a process; raises ConfigError when asked for a different directory, because
    the metrics of a process can only live in one.
    """
    global _bound
    directory = multiproc_dir.resolve()
    with _bind_lock:
        if _bound is not None:
            if _bound.multiproc_dir != directory:
                raise ConfigError(
                    f"alertdrill app: metrics of this process already write to {_bound.multiproc_dir},"
                    f" cannot switch to {directory}"
                )
            return _bound
        env_dir = os.environ.get(ENV_MULTIPROC_DIR)
        if env_dir and Path(env_dir).resolve() != directory:
            raise ConfigError(
                f"alertdrill app: {ENV_MULTIPROC_DIR}={env_dir} differs from the configured {directory}"
            )
        directory.mkdir(parents=True, exist_ok=True)
        # prometheus_client names each worker's mmap file after this variable when a metric is created.
        os.environ[ENV_MULTIPROC_DIR] = str(directory)
        if not getattr(values.ValueClass, "_multiprocess", False):
            # prometheus_client was imported before the variable was set (e.g. by another library in a
            # test session): switch it to mmap-backed values before our metrics are created.
            values.ValueClass = values.MultiProcessValue()
        _bound = AppMetrics(directory, window_s)
        return _bound


def exposition_registry(multiproc_dir: Path) -> CollectorRegistry:
    """The registry ``/metrics`` renders: all workers' samples plus the process-tree metrics."""
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=str(multiproc_dir))
    registry.register(ProcessTreeCollector())
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    """Text exposition format of ``registry``."""
    return generate_latest(registry)
