"""What a load run is asked to do, validated before anything starts.

Every check here runs before a single request is sent, and each failure is one line naming the bad
value: an unknown profile, zero or negative users, a target that is not on loopback or does not
answer. Load only ever goes to the stack's loopback addresses, and every run has a finite run time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from alertdrill.errors import LoadError
from alertdrill.locustfiles.profiles import Profile, get_profile
from alertdrill.netpolicy import remote_allowed
from alertdrill.stack.ports import is_loopback

__all__ = [
    "DEFAULT_RUN_TIME",
    "DEFAULT_USERS",
    "MAX_RUN_TIME",
    "LoadOptions",
    "check_loopback_target",
    "check_target_answers",
]

DEFAULT_USERS = 10
DEFAULT_RUN_TIME = 60.0
MAX_RUN_TIME = 6 * 3600.0
MAX_WORKERS = 64
PROBE_TIMEOUT_S = 3.0
PROBE_PATH = "/status"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_loopback_target(target: str) -> str:
    """The target URL without a trailing slash; LoadError unless it is http(s) on a loopback address."""
    if not isinstance(target, str) or not target:
        raise LoadError(f"load target must be a URL like http://127.0.0.1:8080, got {target!r}")
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LoadError(f"load target {target!r} is not an http(s) URL like http://127.0.0.1:8080")
    if not is_loopback(parts.hostname) and not remote_allowed():
        raise LoadError(f"load target {target!r} is not a loopback address: alertdrill only sends load to the "
                        f"stack on this machine (127.0.0.0/8, ::1, localhost) unless --allow-remote is given")
    return target.rstrip("/")


def check_target_answers(target: str, *, timeout: float = PROBE_TIMEOUT_S) -> None:
    """LoadError unless ``GET <target>/status`` gets any HTTP answer within ``timeout`` s."""
    try:
        requests.get(target + PROBE_PATH, timeout=timeout)
    except requests.Timeout as exc:
        raise LoadError(f"load target {target} does not answer (GET {PROBE_PATH}: no response within {timeout:g} s); "
                        f"is the stack up? see `alertdrill status`") from exc
    except requests.RequestException as exc:
        found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
        reason = found.group(1).strip() if found else type(exc).__name__
        raise LoadError(f"load target {target} does not answer (GET {PROBE_PATH}: {reason}); "
                        f"is the stack up? see `alertdrill status`") from exc


@dataclass(frozen=True, kw_only=True)
class LoadOptions:
    """One run's profile, target, users, spawn rate, run time (s) and workers; invalid values raise LoadError."""

    profile: str
    target: str
    users: int = DEFAULT_USERS
    spawn_rate: float | None = None  # users started per second; default: all users within ~1 s
    run_time: float = DEFAULT_RUN_TIME
    workers: int = 0  # 0 = one local Locust process; N = Locust master + N local workers
    parameters: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        get_profile(self.profile)
        if not isinstance(self.users, int) or isinstance(self.users, bool) or self.users <= 0:
            raise LoadError(f"users must be a whole number > 0, got {self.users!r}")
        if self.spawn_rate is not None and (not _is_number(self.spawn_rate) or self.spawn_rate <= 0):
            raise LoadError(f"spawn rate must be a number > 0 users/s, got {self.spawn_rate!r}")
        if not _is_number(self.run_time) or not 0 < self.run_time <= MAX_RUN_TIME:
            raise LoadError(f"run time must be a number of seconds in (0, {MAX_RUN_TIME:g}], got {self.run_time!r}")
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or not 0 <= self.workers <= MAX_WORKERS:
            raise LoadError(f"workers must be a whole number in 0..{MAX_WORKERS}, got {self.workers!r}")
        object.__setattr__(self, "target", check_loopback_target(self.target))
        params = dict(self.parameters)
        self.profile_spec.check_parameters(params)
        for key, value in params.items():
            if not isinstance(value, str) or not value:
                raise LoadError(f"profile parameter {key!r} must be a non-empty string, got {value!r}")
        object.__setattr__(self, "parameters", params)

    @property
    def profile_spec(self) -> Profile:
        return get_profile(self.profile)

    @property
    def effective_spawn_rate(self) -> float:
        return float(self.spawn_rate) if self.spawn_rate is not None else float(self.users)

    @property
    def run_seconds(self) -> int:
        """Locust's --run-time takes whole seconds: round up, never down to zero."""
        return max(1, math.ceil(self.run_time))
