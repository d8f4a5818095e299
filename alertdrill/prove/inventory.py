"""The series a stack really exports: names, label sets, metric types and observed value ranges.

``prove`` shapes its synthesized input after this, so a rule is proven on metrics its exporters
produce (a misspelt metric or a label no target carries stays missing, as it would be live). An
inventory is captured from a live Prometheus (:func:`capture`) or read from the YAML file that
``alertdrill inventory --out FILE`` wrote (:func:`load_inventory`), so ``prove`` also runs offline.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alertdrill.errors import ConfigError

__all__ = ["Inventory", "MetricInfo", "SeriesInfo", "capture", "differences", "load_inventory", "metric_type",
           "save_inventory"]

#: Suffixes Prometheus' text format adds to a family name, and what they make of its type.
SUFFIXES = {"_bucket": "histogram", "_count": None, "_sum": None, "_total": "counter", "_created": "gauge"}
#: Seconds of history a capture reads for the observed ranges (and the step it reads them at).
CAPTURE_WINDOW = 600.0
CAPTURE_STEP = 15.0


@dataclass(frozen=True)
class SeriesInfo:
    """One series (without ``__name__``) and the lowest, highest and last value seen."""

    labels: Mapping[str, str]
    low: float | None = None
    high: float | None = None
    last: float | None = None


@dataclass(frozen=True)
class MetricInfo:
    """One metric name: its type (counter, gauge, histogram, summary, unknown), help and series.

    ``observed`` is False for a metric the exporter's configuration declares but that had no series
    when the inventory was captured (a custom query with no rows yet): its labels are a template.
    """

    name: str
    type: str
    help: str = ""
    series: tuple[SeriesInfo, ...] = ()
    observed: bool = True
    declared: tuple[str, ...] = ()  # label names the exporter's configuration declares

    @property
    def is_counter(self) -> bool:
        return self.type == "counter" or (self.type in ("histogram", "summary")
                                           and self.name.endswith(("_bucket", "_count", "_sum")))

    def values(self) -> list[float]:
        out = []
        for s in self.series:
            out += [v for v in (s.low, s.high, s.last) if v is not None and math.isfinite(v)]
        return out

    @property
    def is_flag(self) -> bool:
        """A 0/1 flag: every value ever seen is 0 or 1 and the name says so (``up``, ``*_up``, ``*_error``)."""
        values = self.values()
        named = self.name == "up" or self.name.endswith(("_up", "_error", "_errors_present", "_ok", "_success"))
        return named and not self.is_counter and bool(values) and set(values) <= {0.0, 1.0}


@dataclass(frozen=True)
class Inventory:
    metrics: Mapping[str, MetricInfo]
    source: str = ""
    captured_at: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def metric(self, name: str) -> MetricInfo | None:
        return self.metrics.get(name)

    def shape(self) -> dict[str, tuple[str, tuple[tuple[str, ...], ...]]]:
        """Per metric: its type and the distinct sets of label names (what a currency test compares)."""
        return {name: (m.type, tuple(sorted({tuple(sorted(s.labels)) for s in m.series})))
                for name, m in sorted(self.metrics.items())}


def differences(live: Inventory, shipped: Inventory, *, jobs: Iterable[str],
                ignore: Iterable[str] = ()) -> list[str]:
    """How ``live`` differs from ``shipped`` for the series of ``jobs``: metrics new, gone, or with another
    type or other label names (values such as ports change with every start and are not compared)."""
    jobs, ignore = set(jobs), set(ignore)

    def exported(inv: Inventory) -> dict[str, tuple]:
        out = {}
        for name, m in inv.metrics.items():
            series = [s for s in m.series if s.labels.get("job") in jobs] or ([] if m.observed else list(m.series))
            if series and name not in ignore:
                out[name] = (m.type, tuple(sorted({tuple(sorted(s.labels)) for s in series})))
        return out

    now, then = exported(live), exported(shipped)
    out = [f"new: {n}" for n in sorted(set(now) - set(then))]
    out += [f"gone: {n}" for n in sorted(set(then) - set(now))]
    out += [f"changed: {n} {then[n]} -> {now[n]}" for n in sorted(set(now) & set(then)) if now[n] != then[n]]
    return out


def metric_type(name: str, metadata: Mapping[str, str]) -> str:
    """The type of ``name`` from its family's metadata (``foo_bucket`` is histogram ``foo``)."""
    if name in metadata:
        return metadata[name]
    for suffix, implied in SUFFIXES.items():
        if name.endswith(suffix):
            family = metadata.get(name[: -len(suffix)])
            if family:
                return family
            if implied:
                return implied
    return "unknown"


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def save_inventory(inventory: Inventory, path: Path) -> Path:
    """Write ``inventory`` as YAML (stable order, so a diff shows what changed in the exporters)."""
    metrics = {}
    for name, m in sorted(inventory.metrics.items()):
        entry: dict[str, Any] = {"type": m.type}
        if m.help:
            entry["help"] = m.help
        if not m.observed:
            entry["observed"] = False
        if m.declared:
            entry["declared_labels"] = list(m.declared)
        entry["series"] = [{"labels": dict(sorted(s.labels.items())), "low": s.low, "high": s.high, "last": s.last}
                           for s in sorted(m.series, key=lambda s: sorted(s.labels.items()))]
        metrics[name] = entry
    doc = {"source": inventory.source, "captured_at": inventory.captured_at, "notes": list(inventory.notes),
           "metrics": metrics}
    header = ("# The series inventory of a live stack, written by `alertdrill inventory --out FILE`;\n"
              "# `alertdrill prove --inventory FILE` shapes its synthesized series after it.\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(header + yaml.dump(doc, Dumper=dumper, sort_keys=False, width=100_000, allow_unicode=True))
    return path


def load_inventory(path: Path) -> Inventory:
    """Read an inventory file; a missing or malformed one is a one-line ConfigError."""
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 20x faster
    except FileNotFoundError:
        raise ConfigError(f"inventory {path} does not exist; capture one with `alertdrill inventory --out {path}`") \
            from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"inventory {path} is not valid YAML ({str(exc).splitlines()[0]}); "
                          "capture it again with `alertdrill inventory --out FILE`") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), dict):
        raise ConfigError(f"inventory {path} has no 'metrics' mapping; "
                          "capture it with `alertdrill inventory --out FILE`")
    metrics = {}
    for name, raw in doc["metrics"].items():
        if not isinstance(raw, dict):
            raise ConfigError(f"inventory {path}: metric {name} is not a mapping")
        series = tuple(SeriesInfo({str(k): str(v) for k, v in (s.get("labels") or {}).items()},
                                  _number(s.get("low")), _number(s.get("high")), _number(s.get("last")))
                       for s in raw.get("series") or [])
        metrics[str(name)] = MetricInfo(str(name), str(raw.get("type") or "unknown"), str(raw.get("help") or ""),
                                        series, bool(raw.get("observed", True)),
                                        tuple(str(n) for n in raw.get("declared_labels") or ()))
    return Inventory(metrics, str(doc.get("source") or path), str(doc.get("captured_at") or ""),
                     tuple(doc.get("notes") or ()))


def capture(client: Any, *, window: float = CAPTURE_WINDOW, step: float = CAPTURE_STEP,
            declared: Iterable[MetricInfo] = (), now: float | None = None) -> Inventory:
    """Every series of the live Prometheus behind ``client`` over the last ``window`` seconds.

    One range query reads all series (so the ranges cost one request); ``/api/v1/metadata`` gives
    the types. ``declared`` metrics (e.g. from the exporter's custom queries) are added as templates
    when the stack has no series of them yet.
    """
    import time

    end = time.time() if now is None else now
    raw_meta = client.api("/metadata") or {}
    metadata = {name: str(entries[0].get("type") or "unknown") for name, entries in raw_meta.items() if entries}
    helps = {name: str(entries[0].get("help") or "") for name, entries in raw_meta.items() if entries}
    by_name: dict[str, list[SeriesInfo]] = {}
    for series in client.query_range('{__name__=~".+"}', end - window, end, step):
        labels = dict(series.labels)
        name = labels.pop("__name__", "")
        if not name or name in ("ALERTS", "ALERTS_FOR_STATE") or not series.values:
            continue
        values = [v for _, v in series.values if math.isfinite(v)]
        by_name.setdefault(name, []).append(SeriesInfo(
            labels, min(values) if values else None, max(values) if values else None,
            values[-1] if values else None))
    metrics = {}
    for name, series in by_name.items():
        family = name
        for suffix in SUFFIXES:
            if name.endswith(suffix) and name[: -len(suffix)] in metadata:
                family = name[: -len(suffix)]
        metrics[name] = MetricInfo(name, metric_type(name, metadata), helps.get(family, ""), tuple(series))
    notes = []
    for info in declared:
        if info.name not in metrics:
            metrics[info.name] = info
            notes.append(f"{info.name}: declared by the exporter's configuration, no series when captured")
        else:
            live = metrics[info.name]
            metrics[info.name] = MetricInfo(live.name, live.type, live.help, live.series, True, info.declared)
    stamp = _dt.datetime.fromtimestamp(end, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Inventory(metrics, getattr(client, "url", ""), stamp, tuple(notes))


def declared_postgres_queries(queries_file: Path, target_labels: Mapping[str, str]) -> list[MetricInfo]:
    """The metrics postgres_exporter's custom queries declare (``<query>_<column>``), as templates.

    A query with no rows exports nothing, so a live capture alone would not know them; their labels
    are the target's plus each LABEL column (value ``example``).
    """
    doc = yaml.safe_load(Path(queries_file).read_text()) or {}
    out = []
    for prefix, query in doc.items():
        columns = [next(iter(c.items())) for c in query.get("metrics") or [] if isinstance(c, dict) and c]
        labels = {**target_labels, **{col: "example" for col, spec in columns if spec.get("usage") == "LABEL"}}
        for col, spec in columns:
            usage = str(spec.get("usage", "")).upper()
            if usage in ("GAUGE", "COUNTER"):
                declared = tuple(col for col, spec in columns if spec.get("usage") == "LABEL")
                out.append(MetricInfo(f"{prefix}_{col}", usage.lower(), str(spec.get("description") or ""),
                                      (SeriesInfo(dict(labels)),), observed=False, declared=declared))
    return out
