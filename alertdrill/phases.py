"""Where a chaos run's time went: each drill step grouped into a phase, summed per stack, with the
idle share of the run (time a stack had no drill running). Read from the typed results, so the
suite benchmark can print it for a serial and a parallel run alike."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from alertdrill.results import RunSummary

__all__ = ["PHASES", "PhaseBreakdown", "phase_of"]

#: Step-name prefix -> phase, in the order a drill runs them.
PHASES = {
    "quiet": "waiting for the stack to be quiet",
    "baseline": "baseline",
    "inject": "inject",
    "prove": "prove the fault (and its magnitude)",
    "fire": "inject -> fire",
    "deliver": "deliver",
    "inhibit": "inhibit",
    "hold": "hold for the silent alerts",
    "revert": "revert",
    "silent": "silent check",
    "resolve": "revert -> resolve",
    "no flapping": "flapping",
    "stays resolved": "stays resolved",
    "ledger": "write ledger",
}


def phase_of(step_name: str) -> str:
    """The phase a step belongs to (by the prefix of its name)."""
    for prefix, phase in PHASES.items():
        if step_name.startswith(prefix):
            return phase
    return "other"


@dataclass(frozen=True)
class PhaseBreakdown:
    """Seconds per phase over the whole run, stack start-up, and how busy the stacks were."""

    seconds: dict[str, float]
    stack_startup: dict[str, float]
    drill_seconds: float
    stacks: int
    wall_seconds: float | None

    @classmethod
    def of(cls, summary: RunSummary) -> PhaseBreakdown:
        seconds: dict[str, float] = defaultdict(float)
        startup: dict[str, float] = {}
        busy = 0.0
        for result in summary.results:
            for step in result.steps:
                nested = step.name.startswith("baseline: ") and not step.name.startswith("baseline: stack")
                if step.duration is not None and not nested:  # a contract's baseline runs inside the stack's
                    seconds[phase_of(step.name)] += step.duration
            if result.ended is not None:
                busy += result.ended - result.started
            if result.stack and result.stack_startup_seconds is not None:
                startup[result.stack] = result.stack_startup_seconds
        return cls(dict(seconds), startup, busy, max(1, len(startup)), summary.wall_seconds)

    @property
    def idle_share(self) -> float | None:
        """The share of stack-time with no drill running (start-up and teardown included)."""
        if not self.wall_seconds:
            return None
        return max(0.0, 1.0 - self.drill_seconds / (self.wall_seconds * self.stacks))

    def lines(self) -> list[str]:
        total = sum(self.seconds.values()) or 1.0
        out = [f"{'phase':<38} {'seconds':>9} {'share':>6}"]
        ordered = [p for p in PHASES.values() if p in self.seconds] + sorted(set(self.seconds) - set(PHASES.values()))
        out += [f"{phase:<38} {self.seconds[phase]:>9.1f} {self.seconds[phase] / total:>6.0%}" for phase in ordered]
        startup = ", ".join(f"{name} {secs:.1f}s" for name, secs in sorted(self.stack_startup.items()))
        out.append(f"stack start-up: {startup or '-'}")
        idle = self.idle_share
        out.append(f"{self.stacks} stack(s), drills busy {self.drill_seconds:.0f} stack-s of "
                   f"{(self.wall_seconds or 0) * self.stacks:.0f}; idle share "
                   + ("-" if idle is None else f"{idle:.0%}"))
        return out
