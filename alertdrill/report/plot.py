"""A picture of the drill: the alert's expression and its input series, with the fault and the states.

Reading a timeline table tells *when*; the plot shows *why*: the metric crossing its threshold after
the fault, the ``for`` wait until firing, the notification, the fall back after the revert. Data comes
from the live Prometheus (``query_range``, ~1 s step) from before the injection to after resolution.
Drawing uses matplotlib's Agg canvas directly (no pyplot, no display), so it runs headless and in threads.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alertdrill.assertions.promql import selectors, tokenize
from alertdrill.errors import AlertdrillError
from alertdrill.results import DrillResult, TimelineRow

__all__ = ["Mark", "Panel", "PlotData", "fetch_plot_data", "marks_from_timeline", "render_png", "split_threshold",
           "window_of"]

MAX_SERIES = 6
MAX_SELECTORS = 4
_COMPARISONS = frozenset(["==", "!=", ">", "<", ">=", "<="])
_SET_OPERATORS = frozenset(["and", "or", "unless"])
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")
#: Colour and line style per mark kind (timeline ``source/kind``).
MARK_STYLE = {"pending": ("#bf8700", ":"), "firing": ("#cf222e", "-"), "notified": ("#0969da", "--"),
              "resolved": ("#1a7f37", "-"), "resolved notified": ("#1a7f37", "--")}


@dataclass(frozen=True)
class Mark:
    """A state change to draw as a vertical line; ``at`` is unix seconds."""

    kind: str
    at: float


@dataclass
class Panel:
    """One subplot: a query, its series, and the threshold line when the expression compares to one."""

    title: str
    query: str
    series: list[tuple[str, list[tuple[float, float]]]] = field(default_factory=list)
    threshold: float | None = None
    error: str | None = None
    hidden: int = 0


@dataclass
class PlotData:
    title: str
    start: float
    end: float
    anchor: float
    fault: tuple[float, float] | None
    panels: list[Panel]
    marks: list[Mark]


def split_threshold(expr: str) -> tuple[str, str, float] | None:
    """``(left side, operator, number)`` when ``expr`` ends in a top-level comparison with a number.

    ``up{job="x"} == 0`` gives ``('up{job="x"}', '==', 0.0)``: the left side is what to plot, the
    number the threshold line. Anything else (``and``, a vector on the right) gives None.
    """
    try:
        tokens = tokenize(expr)
    except AlertdrillError:
        return None
    depth, last = 0, None
    for i, tok in enumerate(tokens):
        if tok.kind == "op" and tok.text in _OPEN:
            depth += 1
        elif tok.kind == "op" and tok.text in _CLOSE:
            depth -= 1
        elif depth == 0 and tok.kind == "ident" and tok.text in _SET_OPERATORS:
            return None  # `a > 1 and b < 2`: no single left side to plot
        elif depth == 0 and tok.kind == "op" and tok.text in _COMPARISONS:
            last = i
    if last is None:
        return None
    rest = [t for t in tokens[last + 1:] if not (t.kind == "ident" and t.text == "bool")]
    sign = 1.0
    if rest and rest[0].kind == "op" and rest[0].text in "+-" and len(rest) == 2:
        sign, rest = (-1.0 if rest[0].text == "-" else 1.0), rest[1:]
    if len(rest) != 1 or rest[0].kind != "number":
        return None
    try:
        value = sign * float(int(rest[0].text, 16) if rest[0].text.lower().startswith("0x") else rest[0].text)
    except ValueError:
        return None
    op = tokens[last]
    return expr[:op.pos].strip(), op.text, value


def _label_text(labels: Mapping[str, str], varying: Sequence[str]) -> str:
    if not varying:
        return labels.get("__name__", "") or "value"
    return ",".join(f"{k}={labels.get(k, '')}" for k in varying)


def _series(result: Sequence[Any]) -> tuple[list[tuple[str, list[tuple[float, float]]]], int]:
    keys = sorted({k for s in result for k in s.labels})
    varying = [k for k in keys if len({s.labels.get(k) for s in result}) > 1]
    def peak(values: list[tuple[float, float]]) -> float:
        finite = [v for _, v in values if not math.isnan(v)]
        return max(finite) if finite else -math.inf

    # The largest series first: with many label sets (every state of pg_stat_activity), those are the story.
    ranked = sorted(((_label_text(s.labels, varying), list(s.values)) for s in result),
                    key=lambda x: (-peak(x[1]), x[0]))
    return ranked[:MAX_SERIES], max(0, len(ranked) - MAX_SERIES)


def window_of(result: DrillResult, rows: Sequence[TimelineRow], *, pad: float = 5.0,
              now: float | None = None) -> tuple[float, float]:
    """From a little before the injection to a little after the last recorded event (resolution).

    Never past ``now``: the plot is drawn right after the drill, and the future has no samples.
    """
    base = result.injected_at or 0.0
    times = [float(r.t) + base for r in rows if isinstance(r.t, (int, float))]
    first = result.injected_at or result.started
    last = max([*times, result.reverted_at or first, result.ended or first])
    span = max(last - first, 1.0)
    margin = max(pad, 0.1 * span)
    return first - margin, max(last, min(last + margin, time.time() if now is None else now))


def marks_from_timeline(rows: Sequence[TimelineRow], alert: str, labels: Mapping[str, str],
                        base: float) -> list[Mark]:
    """The first pending, firing, notified and resolved events of ``alert`` (with ``labels``)."""
    wanted = {("prometheus", "pending"): "pending", ("prometheus", "firing"): "firing",
              ("sink", "notified"): "notified", ("prometheus", "resolved"): "resolved",
              ("sink", "resolved"): "resolved notified"}
    needles = [f'{k}="{v}"' for k, v in labels.items()]
    found: dict[str, float] = {}
    for row in rows:
        kind = wanted.get((row.source, row.kind))
        if kind is None or row.alert != alert or kind in found or row.t is None:
            continue
        if all(n in row.labels for n in needles):
            found[kind] = float(row.t) + base
    return sorted((Mark(k, t) for k, t in found.items()), key=lambda m: m.at)


def fetch_plot_data(prometheus: Any, *, title: str, expr: str, start: float, end: float, anchor: float,
                    fault: tuple[float, float] | None, marks: list[Mark], step: float | None = None) -> PlotData:
    """Query the expression (its left side when it compares to a number) and each selector inside it."""
    step = step or max(1.0, math.ceil((end - start) / 10_000))
    split = split_threshold(expr)
    panels = [Panel(f"{split[0]}  (alert when {split[1]} {split[2]:g})", split[0], threshold=split[2])
              if split else Panel(expr, expr)]
    try:
        found = selectors(expr)
    except AlertdrillError:
        found = []
    shown = [s for s in found if s.text.strip() != panels[0].query.strip()][:MAX_SELECTORS]
    panels += [Panel(s.text, s.text) for s in shown]
    for panel in panels:
        try:
            panel.series, panel.hidden = _series(prometheus.query_range(panel.query, start, end, step))
        except AlertdrillError as exc:
            panel.error = str(exc)
    return PlotData(title=title, start=start, end=end, anchor=anchor, fault=fault, panels=panels, marks=marks)


def render_png(data: PlotData, *, width: float = 11.0, dpi: int = 100) -> bytes:
    """The plot as PNG bytes; x axis in seconds relative to the fault's injection."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = data.panels or [Panel("no query", "")]
    fig = Figure(figsize=(width, 1.0 + 2.1 * len(panels)), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    fig.suptitle(data.title, fontsize=11, fontweight="bold")
    x0 = data.anchor
    for i, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
        shown = f"  [{len(panel.series)} of {len(panel.series) + panel.hidden} series, largest first]" if (
            panel.hidden) else ""
        ax.set_title(_short(panel.title, 130 - len(shown)) + shown, fontsize=8.5, loc="left", family="monospace")
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8)
        if data.fault:
            ax.axvspan(data.fault[0] - x0, data.fault[1] - x0, color="#fff1a8", alpha=0.7,
                       label="fault in effect" if i == 0 else None)
        for name, points in panel.series:
            xs = [t - x0 for t, v in points if not math.isnan(v)]
            ys = [v for _, v in points if not math.isnan(v)]
            ax.plot(xs, ys, lw=1.4, drawstyle="steps-post", marker="." if len(xs) < 3 else None,
                    label=_short(name, 60))
        if panel.threshold is not None:
            ax.axhline(panel.threshold, color="#57606a", lw=1, ls="--", label=f"threshold {panel.threshold:g}")
        for mark in data.marks:
            color, style = MARK_STYLE.get(mark.kind, ("#57606a", "-"))
            ax.axvline(mark.at - x0, color=color, ls=style, lw=1.3, label=f"{mark.kind} {mark.at - x0:+.1f}s"
                       if i == 0 else None)
        note = panel.error or ("no series in this window" if not panel.series else "")
        if note:
            ax.text(0.5, 0.5, _short(note, 120), transform=ax.transAxes, ha="center", va="center", fontsize=8,
                    color="#cf222e" if panel.error else "#6e7781")
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0, frameon=False)
    axes[-1].set_xlim(data.start - x0, data.end - x0)
    axes[-1].set_xlabel("seconds relative to the fault's injection", fontsize=8.5)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
