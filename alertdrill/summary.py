"""The summary matrix: alert x fired / delivered / resolved, measured time against deadline.

Printed at the end of every chaos run and written as JSON for the report; the wall time of the whole
run is printed with it (the suite's speed goal is measured here, not asserted in a unit test).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["format_matrix", "matrix_rows", "write_summary"]


def _cell(measured: float | None, deadline: float | None, ok: bool | None = None) -> str:
    if measured is None:
        return "-"
    mark = "ok" if ok is not False and (deadline is None or measured <= deadline) else "LATE"
    return f"{measured:.1f}s/{deadline:.1f}s {mark}" if deadline is not None else f"{measured:.1f}s"


def matrix_rows(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for result in results:
        for alert in result["alerts"]:
            shown = {k: v for k, v in alert["labels"].items() if k not in ("service", "instance")}
            labels = ",".join(f"{k}={v}" for k, v in sorted(shown.items()))
            delivered = ("inhibited" if alert.get("inhibited") else
                         _cell(alert.get("delivered_after"), alert.get("deliver_deadline")) if alert.get("receiver")
                         else "n/a")
            rows.append({
                "scenario": result["scenario"],
                "alert": f"{alert['alert']}{{{labels}}}" if labels else alert["alert"],
                "fired": _cell(alert.get("fired_after"), alert.get("fire_deadline")),
                "delivered": delivered,
                "resolved": _cell(alert.get("resolved_after"), alert.get("resolve_deadline")),
                "min": f"{alert['theoretical_min']:.1f}s" if alert.get("theoretical_min") is not None else "-",
                "status": alert.get("status", result["status"]),
                "cause": alert.get("cause") or "",  # issue 14: the root cause of a failed alert
            })
    return rows


def format_matrix(results: list[dict[str, Any]], *, wall_seconds: float | None = None) -> str:
    rows = matrix_rows(results)
    if not rows:
        return "alertdrill: no scenario ran"
    headers = {"scenario": "scenario", "alert": "alert", "fired": "fired (measured/deadline)",
               "delivered": "delivered", "resolved": "resolved", "min": "theoretical min", "status": "status"}
    if any(r["cause"] for r in rows):
        headers["cause"] = "cause"
    widths = {k: max(len(headers[k]), *(len(str(r[k])) for r in rows)) for k in headers}
    lines = ["  ".join(headers[k].ljust(widths[k]) for k in headers)]
    lines.append("  ".join("-" * widths[k] for k in headers))
    lines += ["  ".join(str(r[k]).ljust(widths[k]) for k in headers) for r in rows]
    passed = sum(1 for r in rows if r["status"] == "passed")
    tail = f"{passed}/{len(rows)} alert contracts passed"
    if wall_seconds is not None:
        tail += f" in {wall_seconds:.0f}s wall time ({wall_seconds / 60:.1f} min)"
    lines.append(tail)
    return "\n".join(lines)


def write_summary(path: Path, results: list[dict[str, Any]], **extra: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"results": results, "matrix": matrix_rows(results), **extra}, indent=2, default=str))
    return path
