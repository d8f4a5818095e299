"""Alertmanager: every receiver sends resolutions, and every alert reaches a route of its own.

``amtool check-config`` (the version the stack runs) validates the file; which route an alert lands
on comes from the one route resolver, :mod:`alertdrill.assertions.routing` (whose agreement with
``amtool config routes test`` is a test), so lint and the delivery deadlines never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from alertdrill.assertions.routing import Route
from alertdrill.errors import ConfigError
from alertdrill.lint.findings import Finding, shorten
from alertdrill.lint.rules import Rule
from alertdrill.lint.tools import run_tool

__all__ = ["check_receivers", "check_routes", "grouping_labels", "load_alertmanager_config"]


def load_alertmanager_config(path: Path) -> dict:
    """The parsed config; a missing or non-YAML file is a one-line ConfigError."""
    try:
        return yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"Alertmanager config {path} not found; pass --alertmanager-config") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"Alertmanager config {path} is not YAML ({shorten(str(exc), 120)})") from exc


def grouping_labels(config: Mapping[str, Any]) -> list[str]:
    """The root route's ``group_by`` labels an alert must carry (alertname always exists)."""
    route = config.get("route") or {}
    return [str(x) for x in route.get("group_by") or [] if x not in ("alertname", "...")]


def check_receivers(config: Mapping[str, Any], source: str) -> list[Finding]:
    """Every integration of every receiver sends resolutions: on-call must hear that it is over."""
    out = []
    for receiver in config.get("receivers") or []:
        name = str(receiver.get("name", "?"))
        integrations = {k: v for k, v in receiver.items() if k.endswith("_configs") and v}
        if not integrations:
            out.append(Finding("warning", "receiver", f"receiver {name}", "has no integration; alerts routed "
                               "there are dropped", "add a webhook_configs (or other) entry, or remove the "
                               "receiver", source))
        for kind, entries in integrations.items():
            for i, entry in enumerate(entries):
                if (entry or {}).get("send_resolved") is not True:
                    out.append(Finding("error", "receiver", f"receiver {name}",
                                       f"{kind}[{i}] does not set send_resolved: true; resolutions are not sent",
                                       f"add `send_resolved: true` to {kind}[{i}]", source))
    return out


def check_routes(rules: Sequence[Rule], am_path: Path) -> list[Finding]:
    """The config is valid and every alert matches a route below the root, not the catch-all."""
    result = run_tool("amtool", "check-config", str(am_path))
    if result.returncode != 0:
        lines = [ln.strip() for ln in (result.stdout + result.stderr).splitlines() if "FAILED" in ln or "error" in ln]
        return [Finding("error", "route", am_path.name, "amtool check-config fails: " + "; ".join(lines)[:300],
                        "fix the config (every route's receiver must be defined)", am_path.name)]
    root = Route.from_config(load_alertmanager_config(am_path))
    out = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for r in rules:
        labels = {"alertname": r.name, **r.labels}
        key = tuple(sorted(labels.items()))
        if key in seen:
            continue
        seen.add(key)
        routes = root.match(labels)
        receivers = sorted({route.receiver for route in routes if route.receiver})
        if not receivers:
            out.append(r.finding("error", "route", "routes to no receiver",
                                 f"add a route in {am_path.name} that matches its labels"))
        elif routes == [root]:
            out.append(r.finding("warning", "route", f"matches no route and falls through to the root "
                                 f"receiver {', '.join(receivers)}",
                                 f"add a route for severity={r.severity or '...'} in {am_path.name}, or fix the "
                                 "alert's labels"))
    return out
