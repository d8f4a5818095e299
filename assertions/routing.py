"""Alertmanager's route tree, resolved the way Alertmanager resolves it (``dispatch/route.go``).

The delivery deadline of an alert depends on the ``group_wait``/``group_interval`` of the route it
lands on, so the tree is walked with the same rules: a route matches when all its matchers do (a
missing label is the empty string, regexes are anchored), its children are tried in order, the first
matching child ends the search unless it has ``continue: true``, and a route with no matching child
is itself the result. Children inherit receiver, group_by and the three timings from their parent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alertdrill.errors import ConfigError

from .durations import parse_duration

__all__ = ["DEFAULTS", "AmMatcher", "Route", "parse_matchers"]

#: Alertmanager's defaults for the root route (config/config.go), in seconds.
DEFAULTS = {"group_wait": 30.0, "group_interval": 300.0, "repeat_interval": 4 * 3600.0}

_MATCHER = re.compile(
    r'^\s*(?P<name>[^\s=!~"]+|"(?:[^"\\]|\\.)*")\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$', re.DOTALL)


@dataclass(frozen=True)
class AmMatcher:
    """One label matcher of a route; regexes are anchored as in Alertmanager."""

    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op in ("=", "!="):
            return (actual == self.value) == (self.op == "=")
        try:
            hit = re.fullmatch(f"(?:{self.value})", actual, re.DOTALL) is not None
        except re.error as exc:
            raise ConfigError(f"Alertmanager matcher {self}: regex {self.value!r} is invalid ({exc})") from exc
        return hit == (self.op == "=~")

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text[1:-1])
    return text


def _split(text: str) -> list[str]:
    """Split ``a="x,y", b=~"z"`` on commas outside quotes."""
    parts, current, quoted, escaped = [], [], False, False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def parse_matchers(text: str) -> list[AmMatcher]:
    """Matchers from one ``matchers:`` entry: ``severity="critical"``, ``{a=~"x|y", b!=z}``."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    out = []
    for part in _split(body):
        match = _MATCHER.match(part)
        if match is None:
            raise ConfigError(f"Alertmanager matcher {part.strip()!r} is not 'name op value' (op = != =~ !~)")
        out.append(AmMatcher(_unquote(match["name"]), match["op"], _unquote(match["value"])))
    return out


@dataclass
class Route:
    """A node of the route tree with inherited values filled in (timings in seconds)."""

    receiver: str
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float
    matchers: tuple[AmMatcher, ...] = ()
    continue_: bool = False
    routes: list[Route] = field(default_factory=list)
    path: str = "route"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Route:
        """The root route of an Alertmanager config (the parsed YAML of alertmanager.yml)."""
        root = config.get("route")
        if not isinstance(root, Mapping):
            raise ConfigError("Alertmanager config has no 'route' section")
        base = cls(receiver=str(root.get("receiver", "")), group_by=(), **DEFAULTS)
        return cls._build(root, base, "route", is_root=True)

    @classmethod
    def _build(cls, raw: Mapping[str, Any], parent: Route, path: str, is_root: bool = False) -> Route:
        def timing(key: str) -> float:
            return parse_duration(raw[key], what=f"{path}.{key}") if raw.get(key) is not None else getattr(parent, key)

        matchers: list[AmMatcher] = []
        for name, value in (raw.get("match") or {}).items():
            matchers.append(AmMatcher(str(name), "=", str(value)))
        for name, value in (raw.get("match_re") or {}).items():
            matchers.append(AmMatcher(str(name), "=~", str(value)))
        for entry in raw.get("matchers") or []:
            matchers.extend(parse_matchers(str(entry)))
        group_by = raw.get("group_by")
        node = cls(
            receiver=str(raw.get("receiver") or parent.receiver),
            group_by=tuple(group_by) if group_by is not None else parent.group_by,
            group_wait=timing("group_wait"), group_interval=timing("group_interval"),
            repeat_interval=timing("repeat_interval"),
            matchers=() if is_root else tuple(matchers), continue_=bool(raw.get("continue", False)), path=path)
        children = raw.get("routes") or []
        node.routes = [cls._build(child, node, f"{path}.routes[{i}]") for i, child in enumerate(children)]
        return node

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """Every route an alert with ``labels`` is dispatched to, in Alertmanager's order."""
        if not all(m.matches(labels) for m in self.matchers):
            return []
        found: list[Route] = []
        for child in self.routes:
            hits = child.match(labels)
            found.extend(hits)
            if hits and not child.continue_:
                break
        return found or [self]
