"""Rule files as given (shipped or a candidate): checked by the stack's own promtool, and their alert
names read, before anything starts. One place for both, used by ``up``, ``lint`` and the plugin."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from alertdrill.errors import ConfigError
from alertdrill.stack.binaries import resolve
from alertdrill.stack.rendering import load_yaml

__all__ = ["check_rule_files", "rule_file_alerts"]

#: promtool checks a rule file in well under a second; this only bounds a hang.
PROMTOOL_TIMEOUT = 60.0


def check_rule_files(paths: Sequence[Path]) -> None:
    """A missing or invalid rule file is one ConfigError line with promtool's own reason."""
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise ConfigError(f"rule file(s) not found: {', '.join(missing)}; pass existing files to --rules")
    result = subprocess.run([resolve("promtool"), "check", "rules", *map(str, paths)],
                            capture_output=True, text=True, timeout=PROMTOOL_TIMEOUT)
    if result.returncode != 0:
        lines = [ln.strip() for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
        problems = [ln for ln in lines if not ln.startswith(("Checking ", "SUCCESS")) and ln != "FAILED:"]
        detail = "; ".join(problems or lines)[:600]
        raise ConfigError(f"invalid rule file: {detail}; fix it and check with `promtool check rules FILE`")


def rule_file_alerts(paths: Iterable[Path]) -> set[str]:
    """The alert names defined in rule files (check them with :func:`check_rule_files` first)."""
    names: set[str] = set()
    for path in paths:
        doc = load_yaml(Path(path), what="rule file") or {}
        groups = doc.get("groups") or [] if isinstance(doc, Mapping) else []
        for group in groups:
            for rule in (group or {}).get("rules") or []:
                if isinstance(rule, Mapping) and "alert" in rule:
                    names.add(str(rule["alert"]))
    return names
