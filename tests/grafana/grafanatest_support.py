"""Reading the provisioned dashboards and their PromQL, shared by the static and the live tests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from alertdrill.stack import layout

GRAFANA_DIR = layout.STACK_DIR / "grafana"
DASHBOARD_DIR = GRAFANA_DIR / "dashboards"
DATASOURCE_FILE = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"

#: Grafana's built-in interval variables, as substituted for a run at a 1 s scrape interval: a 1m
#: window holds ~60 samples, and is what $__rate_interval resolves to with the 15s timeInterval.
VARIABLES = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")
_RANGE_FUNCTION = re.compile(r"\b(rate|irate|increase)\s*\(")
_IDENTIFIER = re.compile(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_NOT_METRICS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
                "offset", "inf", "nan"}


@dataclass(frozen=True)
class Query:
    dashboard: str
    panel: str
    ref: str
    expr: str

    @property
    def id(self) -> str:
        return f"{self.dashboard}/{self.panel}/{self.ref}"

    def resolved(self) -> str:
        """The expression with Grafana's variables replaced; unknown variables stay (and fail the query)."""
        return _VARIABLE.sub(lambda m: VARIABLES.get(m.group(1), m.group(0)), self.expr)


def dashboards() -> dict[str, dict]:
    """Every dashboard JSON, by file stem."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARD_DIR.glob("*.json"))}


def panels(board: dict) -> list[dict]:
    """Panels, including those nested in collapsed rows."""
    out = []
    for panel in board.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def queries() -> list[Query]:
    return [Query(name, panel["title"], target["refId"], target["expr"])
            for name, board in dashboards().items() for panel in panels(board)
            for target in panel.get("targets", [])]


def variables_used(expr: str) -> set[str]:
    return set(_VARIABLE.findall(expr))


def _strip(expr: str) -> str:
    """Remove label matchers, range selectors and strings: what is left names metrics and functions."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    return re.sub(r"\[[^\]]*\]", "", expr)


def metric_names(expr: str) -> set[str]:
    """Metric names referenced by ``expr`` (approximate: identifiers that are not functions or keywords)."""
    stripped = _strip(expr)
    stripped = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", stripped)
    return {name for name in _IDENTIFIER.findall(stripped) if name.lower() not in _NOT_METRICS}


def range_function_arguments(expr: str) -> list[tuple[str, str]]:
    """(function, argument text) for every rate/irate/increase call in ``expr``."""
    out = []
    for match in _RANGE_FUNCTION.finditer(expr):
        depth, start = 1, match.end()
        for index in range(start, len(expr)):
            depth += {"(": 1, ")": -1}.get(expr[index], 0)
            if depth == 0:
                out.append((match.group(1), expr[start:index]))
                break
    return out


def metadata_type(metadata: dict[str, list[dict]], name: str) -> str | None:
    """The metric type Prometheus knows for a series name (histogram/summary suffixes map to their family)."""
    if name in metadata:
        return metadata[name][0]["type"]
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name.removesuffix(suffix) in metadata:
            return metadata[name.removesuffix(suffix)][0]["type"]
    return None


def outside_range_functions(expr: str) -> str:
    """``expr`` with every rate/irate/increase call removed: what is used as an instant value."""
    for _, argument in range_function_arguments(expr):
        expr = expr.replace(argument, "")
    return expr
