"""Locustfile `spike`: the steady mix under a shape that ramps to a peak, holds it and falls back.

The shape reads Locust's common options (``use_common_options``): ``--users`` is the peak and
``--run-time`` the whole run; the form is in ``shapes.spike_users``. The target is recomputed every
one-second tick and users are spawned fast, so the ramps follow the interpolation.
"""

from __future__ import annotations

from locust import LoadTestShape

from alertdrill.locustfiles.shapes import spike_users
from alertdrill.locustfiles.users import SteadyUser

__all__ = ["SpikeShape", "SteadyUser"]


class SpikeShape(LoadTestShape):
    """Baseline, ramp, peak, fall, baseline over ``--run-time``, peaking at ``--users``."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options
        peak = int(options.num_users or 1)
        users = spike_users(self.get_run_time(), run_time=float(options.run_time or 60), peak=peak)
        if users is None:
            return None
        return users, float(max(peak, 1))
