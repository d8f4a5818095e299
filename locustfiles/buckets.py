"""Per-request counts in short time buckets, so any window of a run can be judged afterwards or live.

Locust's own CSV history has cumulative rows once a second, no status codes, and percentiles over a
sliding 10 s window, which cannot be cut to "while Redis was down". So the Locust process also counts
every completed request into ``(bucket, method, name, status)`` cells holding a count, a failure
count and a histogram of rounded response times, and appends the cells to ``buckets.jsonl``: the
local runner does so itself, a master merges what its workers report with their regular stats.

Each line is ``{"at": flush time, "covered_to": t, "resolution": s, "cells": [[bucket, method, name,
status, n, failures, {ms: count}], ...]}``. ``covered_to`` promises that every request completed
before ``t`` is in the file, so a reader knows when a window is complete. Cells are additive: the
same cell may appear on several lines (a late worker report) and the reader sums them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from alertdrill.locustfiles.results import AGGREGATED, EndpointStats, WindowStats, round_response_time

__all__ = ["RESOLUTION", "BucketRecorder", "RequestBuckets", "buckets_line"]

#: Bucket width in seconds: fine enough for fault windows of a few seconds, cheap enough to merge.
RESOLUTION = 0.25

CellKey = tuple[int, str, str, int]  # bucket index, method, name, HTTP status (0 = no response)


class _Cell:
    __slots__ = ("failures", "histogram", "n")

    def __init__(self) -> None:
        self.n = 0
        self.failures = 0
        self.histogram: dict[int, int] = {}

    def add(self, n: int, failures: int, histogram: dict[int, int]) -> None:
        self.n += n
        self.failures += failures
        for ms, count in histogram.items():
            self.histogram[ms] = self.histogram.get(ms, 0) + count


class BucketRecorder:
    """Counts requests into cells (Locust side); ``drain`` hands over and forgets what it counted."""

    def __init__(self, *, resolution: float = RESOLUTION) -> None:
        if not resolution > 0:
            raise ValueError(f"resolution must be > 0 s, got {resolution!r}")
        self.resolution = resolution
        self._cells: dict[CellKey, _Cell] = {}

    def record(self, *, at: float, method: str, name: str, status: int, response_ms: float, failed: bool) -> None:
        """Count one completed request (called for every request: keep it cheap)."""
        key = (int(at / self.resolution), method, name, status)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Cell()
        cell.n += 1
        if failed:
            cell.failures += 1
        ms = round_response_time(response_ms)
        cell.histogram[ms] = cell.histogram.get(ms, 0) + 1

    def merge(self, cells: Iterable[list[Any]]) -> None:
        """Add cells drained elsewhere (a worker's report) to this recorder."""
        for bucket, method, name, status, n, failures, histogram in cells:
            key = (int(bucket), str(method), str(name), int(status))
            cell = self._cells.get(key)
            if cell is None:
                cell = self._cells[key] = _Cell()
            cell.add(int(n), int(failures), {int(ms): int(c) for ms, c in histogram.items()})

    def drain(self) -> list[list[Any]]:
        """The cells counted since the last drain, JSON-ready, and start afresh."""
        cells, self._cells = self._cells, {}
        return [[*key, c.n, c.failures, c.histogram] for key, c in cells.items()]

    def __len__(self) -> int:
        return len(self._cells)


class RequestBuckets:
    """A run's request buckets read from ``buckets.jsonl`` (controller side): windows of stats on demand."""

    def __init__(self, *, resolution: float = RESOLUTION) -> None:
        self.resolution = resolution
        self.covered_to = 0.0
        self._cells: dict[CellKey, _Cell] = {}

    @classmethod
    def read(cls, path: Path) -> RequestBuckets:
        """Parse every complete line of ``path`` (a missing file is empty)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        buckets = cls()
        for line in text.splitlines(keepends=True):
            if line.endswith("\n") and line.strip():  # a line still being written is left for next time
                buckets.add_line(json.loads(line))
        return buckets

    def add_line(self, record: dict[str, Any]) -> None:
        self.resolution = float(record.get("resolution", self.resolution))
        self.covered_to = max(self.covered_to, float(record.get("covered_to", 0.0)))
        for bucket, method, name, status, n, failures, histogram in record.get("cells", ()):
            key = (int(bucket), method, name, int(status))
            cell = self._cells.get(key)
            if cell is None:
                cell = self._cells[key] = _Cell()
            cell.add(int(n), int(failures), {int(ms): int(c) for ms, c in histogram.items()})

    @property
    def requests(self) -> int:
        return sum(c.n for c in self._cells.values())

    def first_request_at(self) -> float | None:
        """Start of the first bucket with a request, Unix seconds; None before any request."""
        return min(k[0] for k in self._cells) * self.resolution if self._cells else None

    def window(self, start: float, end: float) -> WindowStats:
        """Stats of requests completed in [start, end), both rounded down to a bucket boundary.

        Rounding ``end`` down makes a window complete as soon as ``covered_to >= end``: the same
        window read live during the run and after it gives the same counts.
        """
        if end < start:
            raise ValueError(f"window end {end} is before its start {start}")
        first, last = math.floor(start / self.resolution), math.floor(end / self.resolution)
        per_endpoint: dict[tuple[str, str], tuple[list[int], dict[int, int], dict[int, int]]] = {}
        for (bucket, method, name, status), cell in self._cells.items():
            if not first <= bucket < last:
                continue
            counts, histogram, codes = per_endpoint.setdefault((method, name), ([0, 0], {}, {}))
            counts[0] += cell.n
            counts[1] += cell.failures
            codes[status] = codes.get(status, 0) + cell.n
            for ms, c in cell.histogram.items():
                histogram[ms] = histogram.get(ms, 0) + c
        seconds = (last - first) * self.resolution
        endpoints: dict[str, EndpointStats] = {}
        all_hist: dict[int, int] = {}
        all_codes: dict[int, int] = {}
        total = [0, 0]
        for (method, name), (counts, histogram, codes) in sorted(per_endpoint.items(), key=lambda kv: kv[0][::-1]):
            stats = EndpointStats.from_histogram(method=method, name=name, requests=counts[0], failures=counts[1],
                                                 seconds=seconds, histogram=histogram, status_counts=codes)
            endpoints[stats.key] = stats
            total[0] += counts[0]
            total[1] += counts[1]
            for ms, c in histogram.items():
                all_hist[ms] = all_hist.get(ms, 0) + c
            for status, c in codes.items():
                all_codes[status] = all_codes.get(status, 0) + c
        aggregated = EndpointStats.from_histogram(method="", name=AGGREGATED, requests=total[0], failures=total[1],
                                                  seconds=seconds, histogram=all_hist, status_counts=all_codes)
        return WindowStats(start=start, end=end, endpoints=endpoints, total=aggregated)


def buckets_line(*, at: float, covered_to: float, resolution: float, cells: list[list[Any]]) -> str:
    """One JSONL line as the Locust side writes it."""
    return json.dumps({"at": at, "covered_to": covered_to, "resolution": resolution, "cells": cells},
                      separators=(",", ":")) + "\n"
