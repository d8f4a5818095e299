"""Locust's own numbers, read from the ``<prefix>_stats.csv`` it writes with ``--csv``.

The CSV is Locust's final per-endpoint table (count, failures, requests/s, percentiles); parsing it
keeps alertdrill's summary identical to the HTML report a human opens next to it.
"""

from __future__ import annotations

import csv
from pathlib import Path

from alertdrill.errors import LoadError
from alertdrill.locustfiles.results import AGGREGATED, EndpointStats

__all__ = ["parse_stats_csv", "user_counts"]

_REQUIRED = ("Type", "Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%", "100%")


def _number(text: str | None) -> float | None:
    if text is None or text.strip() in ("", "N/A"):
        return None
    return float(text)


def parse_stats_csv(path: Path) -> tuple[dict[str, EndpointStats], EndpointStats]:
    """Per-endpoint stats keyed "METHOD name", and the Aggregated row, from Locust's stats CSV."""
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise LoadError(f"Locust wrote no stats CSV at {path}; see the Locust log next to it") from None
    if rows and (missing := [c for c in _REQUIRED if c not in rows[0]]):
        raise LoadError(f"{path} is not a Locust stats CSV: no column(s) {', '.join(missing)}")
    endpoints: dict[str, EndpointStats] = {}
    total = EndpointStats.empty("", AGGREGATED)
    for row in rows:
        stats = EndpointStats(
            method=row["Type"] or "",
            name=row["Name"],
            requests=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            rps=_number(row["Requests/s"]) or 0.0,
            p50=_number(row["50%"]),
            p95=_number(row["95%"]),
            p99=_number(row["99%"]),
            max_ms=_number(row["100%"]),
        )
        if stats.name == AGGREGATED:
            total = stats
        else:
            endpoints[stats.key] = stats
    return endpoints, total


def user_counts(history_csv: Path) -> list[tuple[int, int]]:
    """(Unix second, running users) from the Aggregated rows of Locust's ``_stats_history.csv``."""
    try:
        with Path(history_csv).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise LoadError(f"Locust wrote no stats history at {history_csv}; see the Locust log next to it") from None
    return [(int(r["Timestamp"]), int(r["User Count"])) for r in rows if r.get("Name") == AGGREGATED]
