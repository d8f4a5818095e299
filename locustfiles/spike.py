"""Locustfile `spike`: the steady mix under a shape that ramps to a peak, holds it and falls back.

The shape reads Locust's common options (``use_common_options``): ``--users`` is the peak and
``--run-time`` the whole run, split into phases so a spike of any length has the same form::

    baseline 20 % | ramp 15 % | peak 30 % | fall 15 % | baseline 20 %

The baseline is a fifth of the peak (at least one user). The target is interpolated every tick, so
ramps are straight lines however coarse Locust's one-second ticks are.
"""

from __future__ import annotations

from alertdrill.locustfiles.users import SteadyUser
from locust import LoadTestShape

__all__ = ["PHASES", "SpikeShape", "SteadyUser", "spike_users"]

#: (phase, fraction of the run) in order.
PHASES = (("baseline", 0.20), ("ramp", 0.15), ("peak", 0.30), ("fall", 0.15), ("baseline", 0.20))


def spike_users(elapsed: float, *, run_time: float, peak: int) -> int | None:
    """Target users ``elapsed`` s into a spike of ``run_time`` s peaking at ``peak``; None when over."""
    if elapsed >= run_time:
        return None
    base = max(1, round(peak / 5))
    start = 0.0
    for phase, fraction in PHASES:
        length = fraction * run_time
        if elapsed < start + length:
            progress = (elapsed - start) / length if length else 1.0
            if phase == "ramp":
                return round(base + (peak - base) * progress)
            if phase == "fall":
                return round(peak - (peak - base) * progress)
            return peak if phase == "peak" else base
        start += length
    return base


class SpikeShape(LoadTestShape):
    """Baseline, ramp, peak, fall, baseline over ``--run-time``, peaking at ``--users``."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options
        peak = int(options.num_users or 1)
        users = spike_users(self.get_run_time(), run_time=float(options.run_time or 60), peak=peak)
        if users is None:
            return None
        return users, float(max(peak, 1))  # spawn fast: the ramp's slope comes from the interpolation
