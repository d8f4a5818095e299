"""The recorded alerts as the shipped rules define them today, made the way the stack makes them.

A recording holds the rule as it was tested. Replaying the same series against today's shipped rule
(scaled with the recording's time scale and the catalogue's overrides, exactly as the native stack
renders it) tells CI whether a rule change would break what the nightly run observed.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from alertdrill.errors import ConfigError
from alertdrill.scratch import scratch_dir
from alertdrill.stack.rendering import StackTiming, load_yaml, render_rules

__all__ = ["current_rule_file"]


def current_rule_file(recording: Path, out: Path) -> Path:
    """Write to ``out`` the shipped rules (rendered as tested) for every alert in ``recording``'s rule file."""
    from alertdrill.catalogue import load_catalogue
    from alertdrill.stack import layout

    recording = Path(recording)
    meta_path = recording / "recording.json"
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{recording} has no recording.json; it was not written by alertdrill record") from None
    if not meta.get("time_scale"):
        raise ConfigError(f"{meta_path} names no time_scale; re-record the run with --record")
    recorded = load_yaml(recording / "rules.yml", what="recorded rule file")["groups"][0]
    with scratch_dir("current") as tmp:
        render_rules(layout.shipped_rule_files(), tmp, timing=StackTiming(time_scale=float(meta["time_scale"])),
                     overrides=load_catalogue().rule_overrides)
        shipped = [rule for path in sorted(tmp.glob("*.yml"))
                   for group in (yaml.safe_load(path.read_text()) or {}).get("groups", [])
                   for rule in group.get("rules", []) if "alert" in rule]
    rules = []
    for rule in recorded["rules"]:
        labels = rule.get("labels") or {}
        match = [r for r in shipped if r["alert"] == rule["alert"] and (r.get("labels") or {}) == labels]
        if not match:
            raise ConfigError(f"no shipped rule {rule['alert']} with labels {labels} any more; "
                              f"remove or re-record {recording}")
        rules.append(match[0])
    doc = {"groups": [{"name": f"{recorded['name']}-current", "interval": recorded["interval"], "rules": rules}]}
    Path(out).write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    return Path(out)
