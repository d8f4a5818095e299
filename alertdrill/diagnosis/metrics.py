"""What a metric is: its type (counter, gauge, ...) and the range its values can take.

Types come from Prometheus' ``/api/v1/metadata``, which is what the exporters' ``# TYPE`` lines say;
without a Prometheus only the naming conventions are known (``_total`` and ``_bucket`` are
counters; ``_count`` is not: pg_stat_activity_count is a gauge). Value ranges come from the kind
of quantity the name says it is: a 0/1 flag (``up``, ``*_up``, ``*_last_scrape_error``), a
configured limit, a timestamp, or any non-negative amount (bytes, seconds, counts).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alertdrill.errors import AlertdrillError

__all__ = ["INF", "Domain", "MetricTypes", "is_limit", "is_timestamp", "metric_domain"]

INF = math.inf
_COUNTER_SUFFIXES = ("_total", "_bucket")
_FLAG = re.compile(r"^(up|.*_up|.*_last_scrape_error|.*_scrape_collector_success|.*_in_progress|.*_enabled"
                   r"|redis_rdb_last_bgsave_status|redis_aof_last_write_status|redis_aof_last_bgrewrite_status)$")
_NON_NEGATIVE = re.compile(r".*(_bytes|_seconds|_count|_total|_sum|_bucket|_clients|_keys|_connections|_tuples"
                           r"|_threshold|_size|_workers|_in_flight|_objects)$")
_LIMIT = re.compile(r".*(max_connections|maxclients|maxmemory|memory_max_bytes|_limit|_limit_bytes|max_fds)$")
_TIMESTAMP = re.compile(r".*(timestamp|_time_seconds|start_time|last_.*_seconds)$")


@dataclass(frozen=True)
class Domain:
    """The values an expression can take: [lo, hi], and what it is in words (for the finding)."""

    lo: float
    hi: float
    what: str = ""

    @property
    def known(self) -> bool:
        return self.lo > -INF or self.hi < INF

    def show(self) -> str:
        lo = "-inf" if self.lo == -INF else f"{self.lo:g}"
        hi = "+inf" if self.hi == INF else f"{self.hi:g}"
        return f"{self.what + ' ' if self.what else ''}in [{lo}, {hi}]"


UNKNOWN = Domain(-INF, INF)


def is_limit(metric: str | None) -> bool:
    """A configured limit (max_connections, maxclients, maxmemory): the denominator of a usage ratio."""
    return bool(metric and _LIMIT.match(metric))


def is_timestamp(metric: str | None) -> bool:
    """A point in time in unix seconds, by its name (``*_timestamp_seconds``, ``*start_time*``)."""
    return bool(metric and _TIMESTAMP.match(metric) and "duration" not in metric and "_since_" not in metric)


class MetricTypes:
    """Metric name -> ``counter``/``gauge``/``histogram``/``summary``/``unknown``.

    ``metadata`` is Prometheus' answer (what the exporters declare); names it lacks fall back to the
    naming conventions. ``origin`` says which Prometheus the types came from (empty: conventions only).
    """

    def __init__(self, metadata: Mapping[str, str] | None = None, origin: str = "") -> None:
        self.metadata = dict(metadata or {})
        self.origin = origin

    @classmethod
    def from_prometheus(cls, client: Any) -> MetricTypes:
        """Types from ``/api/v1/metadata`` (best effort: an old Prometheus without it gives conventions)."""
        try:
            data = client.api("/metadata") or {}
        except AlertdrillError:
            return cls(origin=client.url)
        types = {str(name): str(entries[0].get("type", "unknown")) for name, entries in data.items() if entries}
        return cls(types, origin=client.url)

    def type_of(self, metric: str | None) -> str:
        """The metric's type; a histogram's or summary's ``_bucket``/``_count``/``_sum`` series are counters."""
        if not metric:
            return "unknown"
        declared = self.metadata.get(metric)
        if declared and declared != "unknown":
            return declared
        for suffix in ("_bucket", "_count", "_sum"):
            if metric.endswith(suffix) and self.metadata.get(metric[: -len(suffix)]) in ("histogram", "summary"):
                return "counter"
        if metric.endswith(_COUNTER_SUFFIXES) and declared is None:
            return "counter"
        return "unknown"

    def declared(self, metric: str | None) -> bool:
        """Whether the type is the exporter's own word (metadata), not a guess from the name."""
        return bool(metric) and (metric in self.metadata or any(
            metric.endswith(s) and metric[: -len(s)] in self.metadata for s in ("_bucket", "_count", "_sum")))


def metric_domain(metric: str | None, types: MetricTypes) -> Domain:
    """The values a raw series of ``metric`` can take."""
    if not metric:
        return UNKNOWN
    if _FLAG.match(metric):
        return Domain(0, 1, "a 0/1 flag,")
    if types.type_of(metric) == "counter":
        return Domain(0, INF, "a counter,")
    if _NON_NEGATIVE.match(metric):
        return Domain(0, INF, "a non-negative amount,")
    return UNKNOWN
