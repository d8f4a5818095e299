"""The spike's form as a plain function, so it can be tested without importing Locust.

A spike of any length has the same form, in fractions of the run time::

    baseline 20 % | ramp 15 % | peak 30 % | fall 15 % | baseline 20 %

The baseline is a fifth of the peak (at least one user). Ramps are interpolated linearly.
"""

from __future__ import annotations

__all__ = ["PHASES", "spike_users"]

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
            progress = (elapsed - start) / length
            if phase == "ramp":
                return round(base + (peak - base) * progress)
            if phase == "fall":
                return round(peak - (peak - base) * progress)
            return peak if phase == "peak" else base
        start += length
    return base
