"""The search for one rule: candidates through promtool until one fires and resolves, or the bound.

Stage 1 tries candidate fire levels against the inventory's baseline (quiet, fire, quiet again).
When none both fires and resolves, stage 2 pairs the levels that were quiet with those that fired
(the baseline itself may fire). A winner is minimised to the fewest series and written as a
self-contained promtool test; no winner leaves the verdict to :mod:`.diagnose`, which says why.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from alertdrill.assertions.durations import format_duration
from alertdrill.errors import AlertdrillError
from alertdrill.lint.rules import Rule
from alertdrill.prove.candidates import BUDGET, Domain, assignments, domains
from alertdrill.prove.expression import Analysis, analyse
from alertdrill.prove.inventory import Inventory
from alertdrill.prove.minimise import minimise
from alertdrill.prove.promtool import Outcome, Probe, run_batch
from alertdrill.prove.result import ProofResult, Verdict
from alertdrill.prove.synthesis import Level, Timeline, Unit, build_units
from alertdrill.replay.promtest import rule_entry

__all__ = ["BATCH", "DEFAULT_STEP", "Search", "prove_rule", "prove_rules", "rule_doc"]

#: Candidates per promtool process; the first batch is smaller, as most rules fire within it.
BATCH = 40
FIRST_BATCH = 10
#: Evaluation interval and sample spacing of the synthesized series: the stack's evaluation interval,
#: coarsened up to MAX_STEP while every range window and ``for`` still spans EVALS_PER_SPAN evaluations.
DEFAULT_STEP = 15.0
MAX_STEP = 60.0
EVALS_PER_SPAN = 4
#: Quiet/fire pairs tried in stage 2.
PAIRS = 40

Assignment = Mapping[str, Level]


def rule_doc(rule: Rule, step: float) -> dict[str, Any]:
    """A rule file holding only ``rule``, as written (production ``for``), evaluated every ``step``."""
    entry = rule_entry(rule.name, rule.expr, duration=rule.duration, keep_firing_for=rule.keep_firing_for,
                       labels=rule.labels, annotations=rule.annotations)
    return {"groups": [{"name": rule.group or "proof", "interval": format_duration(step), "rules": [entry]}]}


@dataclass
class Search:
    """Everything the stages share for one rule; ``tried`` counts candidates sent to promtool."""

    rule: Rule
    analysis: Analysis
    units: list[Unit]
    domains: list[Domain]
    timeline: Timeline
    notes: list[str]
    inventory: Inventory
    tried: int = 0

    @property
    def rules_doc(self) -> dict[str, Any]:
        return rule_doc(self.rule, self.timeline.step)

    def series(self, quiet: Assignment, fire: Assignment, units: Sequence[Unit] | None = None):
        out = []
        for unit in self.units if units is None else units:
            q, f = quiet.get(unit.signal), fire.get(unit.signal)
            out += list(zip(unit.series, unit.values((q, f, q), self.timeline), strict=True))
        return out

    def probe(self, quiet: Assignment, fire: Assignment, units: Sequence[Unit] | None = None) -> Probe:
        t = self.timeline
        expr = self.rule.expr
        return Probe(self.series(quiet, fire, units), (t.t_fire, t.t_after),
                     ((expr, t.t_quiet), (expr, t.t_fire), (expr, t.t_after)))

    def run(self, probes: Sequence[Probe]) -> list[Outcome]:
        self.tried += len(probes)
        return run_batch(self.rules_doc, probes, alert=self.rule.name, step=self.timeline.step)

    def proves(self, outcome: Outcome) -> bool:
        """Silent at baseline, firing at the end of the fire phase, resolved at the end."""
        t, expr = self.timeline, self.rule.expr
        return (not outcome.true(expr, t.t_quiet) and outcome.firing(t.t_fire)
                and not outcome.firing(t.t_after) and not outcome.true(expr, t.t_after))


def _chunks(items: Iterable[Any], size: int, first: int | None = None) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    limit = first or size
    for item in items:
        chunk.append(item)
        if len(chunk) == limit:
            yield chunk
            chunk, limit = [], size
    if chunk:
        yield chunk


def _changes(a: Assignment, b: Assignment) -> int:
    return sum(a.get(k) != b.get(k) for k in set(a) | set(b))


def prove_rule(rule: Rule, inventory: Inventory, *, step: float = DEFAULT_STEP, out_dir: Path | None = None,
               budget: int = BUDGET) -> ProofResult:
    """Search inputs that make ``rule`` fire and resolve; write the proof under ``out_dir`` if given.

    One rule's failure (promtool refusing a candidate file, a proof that does not replay) is that rule's
    ``undecided`` verdict with the reason, never the end of the other rules' search."""
    started = time.monotonic()
    try:
        result = _prove_rule(rule, inventory, step=step, out_dir=out_dir, budget=budget)
    except AlertdrillError as exc:
        return ProofResult(rule.name, rule.severity, Verdict.UNDECIDED, str(exc),
                           seconds=round(time.monotonic() - started, 2))
    unfed = analyse(rule.expr).notes
    if result.verdict is Verdict.CANNOT_FIRE and unfed:  # a selector the search could not feed
        return replace(result, verdict=Verdict.UNDECIDED, reason=f"{unfed[0]}; without it: {result.reason}")
    return result


def _prove_rule(rule: Rule, inventory: Inventory, *, step: float, out_dir: Path | None,
                budget: int) -> ProofResult:
    from alertdrill.prove.diagnose import always_fires, cannot_fire
    from alertdrill.prove.writer import write_proof

    started = time.monotonic()
    analysis = analyse(rule.expr)
    units, notes = build_units(analysis, inventory)
    doms = domains(analysis, units, inventory)
    spans = [s for s in (analysis.max_window, rule.duration, *(sig.window for sig in analysis.signals)) if s]
    step = max(step, min([MAX_STEP, *(s / EVALS_PER_SPAN for s in spans)]))
    step = math.floor(step / DEFAULT_STEP) * DEFAULT_STEP or step
    clock = 2.5 * max((abs(c) for c in analysis.constants if math.isfinite(c)), default=0.0) \
        if analysis.uses_time else 0.0
    timeline = Timeline.for_rule(step=step, window=analysis.max_window, duration=rule.duration,
                                 keep_firing_for=rule.keep_firing_for, start_after=clock)
    search = Search(rule, analysis, units, doms, timeline, list(notes + list(analysis.notes)), inventory)

    def done(verdict: Verdict, reason: str, evidence: Sequence[str] = (), **extra: Any) -> ProofResult:
        return ProofResult(rule.name, rule.severity, verdict, reason, tuple(evidence), search.tried,
                           seconds=round(time.monotonic() - started, 2), **extra)

    if analysis.uses_time:
        search.notes.append(f"time() in promtool counts from 0: the baseline lasts "
                            f"{format_duration(timeline.t_quiet * timeline.step)} so ages past the thresholds exist")
    baseline = {d.signal: d.baseline for d in doms}
    tried: list[tuple[Assignment, Outcome]] = []
    winner: tuple[Assignment, Assignment] | None = None
    # First with one unit per selector (most rules need no more, and promtool's cost grows with the
    # series), then with every series of the inventory.
    first = search.run([search.probe(baseline, baseline)])[0]  # the stack as inventoried (or no series at all)
    if first.true(rule.expr, timeline.t_quiet) and first.true(rule.expr, timeline.t_fire):
        reason, evidence = always_fires(search, [], [])
        return done(Verdict.ALWAYS_FIRES, reason, evidence)
    few = _representatives(search.units)
    passes = [few, search.units] if len(few) < len(search.units) else [search.units]
    for units in passes if doms else []:
        winner, tried = _stages(search, baseline, units, budget)
        if winner is not None:
            search.units = list(units)
            break
    if winner is None:
        if not doms:
            reason, evidence = cannot_fire(search, [])
            return done(Verdict.CANNOT_FIRE, reason, evidence)
        t = timeline
        fired = [a for a, o in tried if o.firing(t.t_fire)]
        if not fired and not any(o.true(rule.expr, t.t_fire) for _, o in tried):
            reason, evidence = cannot_fire(search, [a for a, _ in tried])
            return done(Verdict.CANNOT_FIRE, reason, evidence)
        quiet = [a for a, o in tried if not o.true(rule.expr, t.t_fire)]
        reason, evidence = always_fires(search, quiet, fired)
        return done(Verdict.ALWAYS_FIRES, reason, evidence)
    quiet, fire = winner

    def check(variants: Sequence[Sequence[Unit]]) -> list[bool]:
        return [search.proves(o) for o in search.run([search.probe(quiet, fire, v) for v in variants])]

    kept = minimise(list(search.units), check)
    evidence = [*search.notes, *_levels(search, quiet, fire)]
    test_file = rule_file = None
    if out_dir is not None:
        test_file, rule_file = write_proof(search, quiet, fire, kept, out_dir)
    return done(Verdict.FIREABLE, "fires and resolves", evidence, series=sum(len(u.series) for u in kept),
                test_file=test_file, rule_file=rule_file)


def _representatives(units: Sequence[Unit]) -> list[Unit]:
    """The first unit of every selector, and every clone of a counted one."""
    out, seen = [], set()
    for unit in units:
        if unit.signal not in seen or unit.clone:
            out.append(unit)
        seen.add(unit.signal)
    return out


def _stages(search: Search, baseline: Assignment, units: Sequence[Unit],
            budget: int) -> tuple[tuple[Assignment, Assignment] | None, list[tuple[Assignment, Outcome]]]:
    """Stage 1: candidates against the baseline; stage 2: quiet/fire pairs. The winner, and stage 1's outcomes."""
    t, expr = search.timeline, search.rule.expr
    tried: list[tuple[Assignment, Outcome]] = []
    counts = Counter(u.signal for u in units)
    for chunk in _chunks(assignments(search.domains, budget, counts), BATCH, FIRST_BATCH):
        outcomes = search.run([search.probe(baseline, fire, units) for fire in chunk])
        tried += list(zip(chunk, outcomes, strict=True))
        hits = [fire for fire, o in zip(chunk, outcomes, strict=True) if search.proves(o)]
        if hits:
            return (baseline, min(hits, key=lambda f: _changes(baseline, f))), tried
    fired = [a for a, o in tried if o.firing(t.t_fire)]
    quiet = [a for a, o in tried if not o.true(expr, t.t_fire)]
    pairs = sorted(((q, f) for q in quiet for f in fired), key=lambda qf: _changes(*qf))[:PAIRS]
    for chunk in _chunks(pairs, BATCH):
        outcomes = search.run([search.probe(q, f, units) for q, f in chunk])
        hits = [qf for qf, o in zip(chunk, outcomes, strict=True) if search.proves(o)]
        if hits:
            return hits[0], tried
    return None, tried


def _levels(search: Search, quiet: Assignment, fire: Assignment) -> list[str]:
    from alertdrill.prove.candidates import describe

    out = []
    for d in search.domains:
        signal = next(s for s in search.analysis.signals if s.key == d.signal)
        q, f = quiet.get(d.signal), fire.get(d.signal)
        out.append(f"{describe(signal, d.kind, q)} at baseline" if q == f
                   else f"{describe(signal, d.kind, f)} while firing, {describe(signal, d.kind, q)} before and after")
    return out


def prove_rules(rules: Sequence[Rule], inventory: Inventory, *, out_dir: Path | None = None,
                step: float = DEFAULT_STEP, workers: int = 2,
                on_result: Callable[[ProofResult], None] | None = None) -> list[ProofResult]:
    """Every rule, ``workers`` at a time (each search runs its own promtool batches); in rule order."""
    def one(rule: Rule) -> ProofResult:
        result = prove_rule(rule, inventory, step=step, out_dir=out_dir)
        if on_result:
            on_result(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, rules))
