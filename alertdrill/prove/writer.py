"""Write a winning input as a self-contained promtool test, in the form of the project's replays.

The folder holds ``rules.yml`` (the rule exactly as written, production ``for``) and
``<rule>.test.yml``: the minimised series, and checks read off a step-by-step evaluation of that very
input: silent at the baseline, silent one evaluation before the first firing step (``for`` still
pending), firing, and resolved one evaluation after the last firing step. Check placement is
:func:`alertdrill.replay.promtest.choose_checks` with no margin: promtool is deterministic here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from alertdrill.assertions.durations import format_duration
from alertdrill.errors import ReplayError
from alertdrill.prove.promtool import Probe
from alertdrill.prove.synthesis import Level, Timeline, Unit
from alertdrill.replay.promtest import Check, Firing, choose_checks, dump_yaml, label_key, promtool_test_doc
from alertdrill.replay.series import Grid
from alertdrill.replay.verify import TEST_SUFFIX, replay

if TYPE_CHECKING:
    from alertdrill.prove.search import Search

__all__ = ["proof_slug", "write_proof"]


def proof_slug(name: str, severity: str) -> str:
    """Folder name of a rule's proof: two rules may share an alert name, so the severity is in it."""
    text = f"{name}-{severity}" if severity else name
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)


def write_proof(search: Search, quiet: Mapping[str, Level], fire: Mapping[str, Level], units: Sequence[Unit],
                out_dir: Path) -> tuple[Path, Path]:
    """Evaluate the minimised input at every step, write the folder, and check it passes promtool."""
    rule, t = search.rule, search.timeline
    series = search.series(quiet, fire, units)
    outcome = search.run([Probe(series, tuple(range(t.size)))])[0]
    steps: dict[tuple, list[int]] = {}
    labels_of: dict[tuple, dict[str, str]] = {}
    annotations: dict[tuple, dict[str, str]] = {}
    for step, alerts in sorted(outcome.alerts.items()):
        for got in alerts:
            key = label_key(got.labels)
            steps.setdefault(key, []).append(step)
            labels_of[key] = got.labels
            annotations[(rule.name, key, step)] = got.annotations
    instances = [Firing(rule.name, labels_of[k], tuple(v)) for k, v in steps.items()]
    checks = [replace(c, why=_why(c, t, min(f.first for f in instances), max(f.last for f in instances)))
              for c in choose_checks(rule.name, instances, size=t.size, quiet_before=t.t_quiet, margin=0)]
    grid = Grid(0.0, t.step, t.size)
    folder = Path(out_dir) / proof_slug(rule.name, rule.severity)
    folder.mkdir(parents=True, exist_ok=True)
    rule_file = folder / "rules.yml"
    rule_file.write_text(dump_yaml(search.rules_doc, header=[
        f"{rule.title} as written in {rule.file.name} (production timing), proven by `alertdrill prove`."]))
    doc = promtool_test_doc(rule_file="rules.yml", grid=grid, series=series, checks=checks, annotations=annotations,
                            name=f"prove: {rule.title} fires and resolves on synthesized series")
    first = min(f.first for f in instances)
    header = [
        f"Proof by synthesis: {rule.title} can fire and resolve on series shaped after the inventory.",
        f"Written by `alertdrill prove`; re-run with `promtool test rules {proof_slug(rule.name, rule.severity)}"
        f"{TEST_SUFFIX}`.",
        f"One sample per evaluation ({format_duration(t.step)}): baseline 0s..{format_duration(t.t_quiet * t.step)}, "
        f"fire phase to {format_duration(t.t_fire * t.step)}, baseline again to {format_duration(t.t_after * t.step)}.",
        *[f"  {line}" for line in search_levels(search, quiet, fire)],
        f"First firing at {format_duration(first * t.step)} (for: {format_duration(rule.duration or 0)}).",
        "Checks:",
        *[f"  {format_duration(c.step * t.step)} {c.alert}: {c.why}" for c in checks],
    ]
    test_file = folder / f"{proof_slug(rule.name, rule.severity)}{TEST_SUFFIX}"
    test_file.write_text(dump_yaml(doc, header=header))
    outcome_file = replay(test_file)
    if not outcome_file.passed:
        raise ReplayError(f"the proof written for {rule.title} does not pass promtool: {outcome_file.output[:400]}")
    return test_file, rule_file


def _why(check: Check, t: Timeline, first: int, last: int) -> str:
    if check.step == t.t_quiet:
        return "silent at the baseline"
    if check.step == first - 1:
        return "silent one evaluation before the first firing step: `for` still pending"
    if check.firing:
        return f"firing (from {format_duration(first * t.step)} to {format_duration(last * t.step)})"
    return "resolved one evaluation after the last firing step"


def search_levels(search: Search, quiet: Mapping[str, Level], fire: Mapping[str, Level]) -> list[str]:
    from alertdrill.prove.search import _levels

    return _levels(search, quiet, fire)
