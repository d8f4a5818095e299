"""The client's view of a load run: per-endpoint counts, rates, percentiles and status codes.

``EndpointStats`` is one row (an endpoint, or ``Aggregated``); ``WindowStats`` is every endpoint
between two instants (a fault's window, say); ``LoadResult`` is the whole run plus its artifacts.
Percentiles follow Locust's own rounding and rule, so a window that spans the whole run gives the
numbers of Locust's report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alertdrill.errors import LoadError

if TYPE_CHECKING:
    from alertdrill.locustfiles.buckets import RequestBuckets
    from alertdrill.locustfiles.ledger import LedgerReport

__all__ = [
    "AGGREGATED",
    "Artifacts",
    "EndpointStats",
    "LoadResult",
    "WindowStats",
    "check_within_run",
    "percentile",
    "round_response_time",
]

AGGREGATED = "Aggregated"


def round_response_time(ms: float) -> int:
    """Locust's rounding: exact below 100 ms, then 2 significant digits, so histograms stay small."""
    if ms < 100:
        return round(ms)
    step = 10 if ms < 1000 else 100 if ms < 10000 else 1000
    return round(ms / step) * step


def percentile(histogram: Mapping[int, int], q: float) -> int | None:
    """The ``q`` (0..1) percentile of a {rounded ms: count} histogram, by Locust's rule; None if empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    allowed_above = int(total * q)
    seen = 0
    for ms in sorted(histogram, reverse=True):
        seen += histogram[ms]
        if total - seen <= allowed_above:
            return ms
    return min(histogram)


@dataclass(frozen=True)
class EndpointStats:
    """One endpoint's (or ``Aggregated``'s) requests, failures, rate, latency percentiles (ms) and codes."""

    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50: float | None
    p95: float | None
    p99: float | None
    max_ms: float | None = None
    status_counts: dict[int, int] = field(default_factory=dict)  # 0 = no HTTP response at all

    @property
    def key(self) -> str:
        return self.name if self.name == AGGREGATED else f"{self.method} {self.name}"

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    def status_ratio(self, *statuses: int) -> float:
        """Fraction of requests answered with any of ``statuses`` (0 = no response), e.g. 503."""
        total = sum(self.status_counts.values())
        return sum(self.status_counts.get(s, 0) for s in statuses) / total if total else 0.0

    @classmethod
    def empty(cls, method: str, name: str) -> EndpointStats:
        return cls(method=method, name=name, requests=0, failures=0, rps=0.0, p50=None, p95=None, p99=None)

    @classmethod
    def from_histogram(cls, *, method: str, name: str, requests: int, failures: int, seconds: float,
                       histogram: Mapping[int, int], status_counts: Mapping[int, int]) -> EndpointStats:
        return cls(
            method=method, name=name, requests=requests, failures=failures,
            rps=requests / seconds if seconds > 0 else 0.0,
            p50=percentile(histogram, 0.50), p95=percentile(histogram, 0.95), p99=percentile(histogram, 0.99),
            max_ms=max(histogram) if histogram else None,
            status_counts=dict(sorted(status_counts.items())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "name": self.name, "requests": self.requests, "failures": self.failures,
            "failure_ratio": round(self.failure_ratio, 6), "rps": round(self.rps, 3),
            "p50": self.p50, "p95": self.p95, "p99": self.p99, "max_ms": self.max_ms,
            "status_counts": {str(k): v for k, v in self.status_counts.items()},
        }

    def line(self) -> str:
        """One human-readable summary line."""
        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:g}"
        codes = " ".join(f"{k}:{v}" for k, v in self.status_counts.items()) or "-"
        return (f"{self.key:<28} {self.requests:>8} req {self.failure_ratio:>7.2%} fail {self.rps:>9.1f}/s "
                f"p50 {ms(self.p50):>5} p95 {ms(self.p95):>5} p99 {ms(self.p99):>5} ms  codes {codes}")


def _lookup(endpoints: Mapping[str, EndpointStats], name: str) -> EndpointStats:
    """By key ("GET /helloworld") or by bare name when only one method used it; empty if never seen."""
    if name in endpoints:
        return endpoints[name]
    matches = [e for e in endpoints.values() if e.name == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise LoadError(f"endpoint {name!r} is ambiguous; use one of: {', '.join(e.key for e in matches)}")
    method, _, path = name.partition(" ") if " " in name else ("", "", name)
    return EndpointStats.empty(method, path)


@dataclass(frozen=True)
class WindowStats:
    """Every endpoint between ``start`` and ``end`` (Unix seconds), counted from the run's request buckets."""

    start: float
    end: float
    endpoints: dict[str, EndpointStats]
    total: EndpointStats

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def requests(self) -> int:
        return self.total.requests

    @property
    def failures(self) -> int:
        return self.total.failures

    @property
    def rps(self) -> float:
        return self.total.rps

    @property
    def failure_ratio(self) -> float:
        return self.total.failure_ratio

    @property
    def status_counts(self) -> dict[int, int]:
        return self.total.status_counts

    def endpoint(self, name: str) -> EndpointStats:
        """One endpoint's stats in this window (zero requests if it was not called)."""
        return _lookup(self.endpoints, name)

    def status_ratio(self, *statuses: int, endpoint: str | None = None) -> float:
        """Fraction of requests (of ``endpoint``, or all) answered with one of ``statuses``."""
        stats = self.total if endpoint is None else self.endpoint(endpoint)
        return stats.status_ratio(*statuses)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "total": self.total.to_dict(),
                "endpoints": {k: v.to_dict() for k, v in self.endpoints.items()}}


@dataclass(frozen=True)
class Artifacts:
    """Where a run left its files: Locust's CSV and HTML, its logs, the buckets and the ledger."""

    directory: Path

    @property
    def csv_prefix(self) -> Path:
        return self.directory / "locust"

    @property
    def stats_csv(self) -> Path:
        return self.directory / "locust_stats.csv"

    @property
    def history_csv(self) -> Path:
        return self.directory / "locust_stats_history.csv"

    @property
    def failures_csv(self) -> Path:
        return self.directory / "locust_failures.csv"

    @property
    def html(self) -> Path:
        return self.directory / "report.html"

    @property
    def buckets(self) -> Path:
        return self.directory / "buckets.jsonl"

    @property
    def ledger(self) -> Path:
        return self.directory / "ledger.jsonl"

    @property
    def status(self) -> Path:
        return self.directory / "status.json"

    @property
    def result(self) -> Path:
        return self.directory / "result.json"

    @property
    def master_log(self) -> Path:
        return self.directory / "locust-master.log"

    def worker_log(self, index: int) -> Path:
        return self.directory / f"locust-worker-{index}.log"

    def existing(self) -> list[Path]:
        """Every file of the run that exists, for attaching to a report."""
        return sorted(p for p in self.directory.iterdir() if p.is_file())


@dataclass(frozen=True)
class LoadResult:
    """The client's view of a finished run: Locust's totals per endpoint, status codes, windows, ledger."""

    profile: str
    target: str
    users: int
    workers: int
    started_at: float
    stopped_at: float
    total: EndpointStats
    endpoints: dict[str, EndpointStats]
    marks: dict[str, float]
    artifacts: Artifacts
    buckets: RequestBuckets
    ledger: LedgerReport | None = None
    exit_code: int | None = None
    #: Remote workers the master waited for (besides ``workers`` local ones).
    remote_workers: int = 0
    #: Requests and acknowledged writes each worker reported to the master, by Locust client id.
    worker_totals: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.total.requests

    @property
    def failures(self) -> int:
        return self.total.failures

    @property
    def rps(self) -> float:
        return self.total.rps

    @property
    def failure_ratio(self) -> float:
        return self.total.failure_ratio

    @property
    def status_counts(self) -> dict[int, int]:
        return self.total.status_counts

    def endpoint(self, name: str) -> EndpointStats:
        """One endpoint by key ("POST /items") or bare name ("/helloworld")."""
        return _lookup(self.endpoints, name)

    def window(self, start: str | float, end: str | float | None = None) -> WindowStats:
        """Stats between two marks (labels given to ``LoadRun.mark``) or Unix times; ``end`` defaults to the stop."""
        t1 = self.resolve(end) if end is not None else self.stopped_at
        check_within_run(t1, self.stopped_at)
        return self.buckets.window(self.resolve(start), t1)

    def resolve(self, when: str | float) -> float:
        """A mark's time, or the number itself."""
        if isinstance(when, str):
            try:
                return self.marks[when]
            except KeyError:
                raise LoadError(f"no mark {when!r}; marks are: {', '.join(self.marks) or 'none'}") from None
        return float(when)

    def summary(self) -> str:
        """A few lines for a terminal or a report attachment."""
        remote = f" + {self.remote_workers} remote" if self.remote_workers else ""
        head = (f"load {self.profile!r} -> {self.target}: {self.users} users, {self.workers} workers{remote}, "
                f"{self.stopped_at - self.started_at:.1f} s, {self.requests} requests, "
                f"{self.rps:.1f} req/s, {self.failure_ratio:.2%} failed")
        lines = [head, *(e.line() for e in self.endpoints.values()), self.total.line()]
        if self.ledger is not None:
            lines.append(self.ledger.line())
        lines.append(f"artifacts: {self.artifacts.directory}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile, "target": self.target, "users": self.users, "workers": self.workers,
            "remote_workers": self.remote_workers, "worker_totals": self.worker_totals,
            "started_at": self.started_at, "stopped_at": self.stopped_at, "exit_code": self.exit_code,
            "total": self.total.to_dict(), "endpoints": {k: v.to_dict() for k, v in self.endpoints.items()},
            "marks": self.marks, "ledger": self.ledger.to_dict() if self.ledger else None,
            "artifacts": str(self.artifacts.directory),
        }


def check_within_run(end: float, stopped_at: float) -> None:
    """LoadError when a window reaches past the end of the load: it would count requests never sent."""
    if end > stopped_at + 0.5:
        raise LoadError(f"the window ends {end - stopped_at:.1f} s after the load stopped; the scenario outlasted "
                        f"the load's run time: give the load run a longer run_time")


def merge_status_counts(counts: Iterable[Mapping[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for one in counts:
        for status, n in one.items():
            merged[status] = merged.get(status, 0) + n
    return dict(sorted(merged.items()))
