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
from alertdrill.settings import SETTINGS
from alertdrill.stack.ports import free_ports, is_local_address, is_loopback

__all__ = [
    "DEFAULT_RUN_TIME",
    "DEFAULT_USERS",
    "MAX_RUN_TIME",
    "LoadOptions",
    "RemoteWorkers",
    "check_loopback_target",
    "check_target_answers",
    "remote_workers_setting",
]

DEFAULT_USERS = 10
DEFAULT_RUN_TIME = 60.0
MAX_RUN_TIME = 6 * 3600.0
MAX_WORKERS = 64
DEFAULT_MASTER_PORT = 5557  # Locust's own
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
    if not is_loopback(parts.hostname):
        raise LoadError(f"load target {target!r} is not a loopback address: alertdrill only sends load to the "
                        f"stack on this machine (127.0.0.0/8, ::1, localhost)")
    return target.rstrip("/")


def check_local_target(target: str) -> str:
    """Like :func:`check_loopback_target`, but an IP address of this machine is allowed too.

    Remote workers cannot reach the stack on loopback; they reach it on an address of this machine
    (e.g. the host end of a veth pair). Still no load ever goes anywhere but to this machine.
    """
    try:
        return check_loopback_target(target)
    except LoadError:
        host = urlsplit(target).hostname if isinstance(target, str) else None
        if not host or urlsplit(target).scheme not in ("http", "https") or not is_local_address(host):
            raise LoadError(f"load target {target!r} is neither loopback nor an address of this machine: alertdrill "
                            f"only sends load to the stack's own addresses (remote workers: give the address "
                            f"of this machine they reach the app on)") from None
        return target.rstrip("/")


@dataclass(frozen=True)
class RemoteWorkers:
    """Locust workers on other hosts: the address the master binds for them and how many it waits for."""

    bind: str
    port: int
    expect: int

    def __post_init__(self) -> None:
        if not is_local_address(self.bind):
            raise LoadError(f"--load-master-bind {self.bind!r} is not an IP address of this machine; give the address "
                            f"of this machine the worker hosts reach (one address: not 0.0.0.0, the master's "
                            f"protocol is unauthenticated)")
        if not isinstance(self.port, int) or isinstance(self.port, bool) or not 0 <= self.port < 65536:
            raise LoadError(f"--load-master-bind port must be 0..65535 (0 = any free port), got {self.port!r}")
        if not isinstance(self.expect, int) or isinstance(self.expect, bool) or not 1 <= self.expect <= MAX_WORKERS:
            raise LoadError(f"--load-expect-workers must be a whole number in 1..{MAX_WORKERS}, got {self.expect!r}")
        if self.port == 0:
            object.__setattr__(self, "port", free_ports(1, self.bind)[0])

    @property
    def address(self) -> str:
        return f"[{self.bind}]:{self.port}" if ":" in self.bind else f"{self.bind}:{self.port}"


def remote_workers_setting(bind: str | None, expect: int | str | None) -> RemoteWorkers | None:
    """The remote workers the settings ``load_master_bind`` and ``load_expect_workers`` ask for.

    Both resolved already (``alertdrill.settings``: option > environment > ini; None = not given).
    ``bind`` is ``ADDR`` or ``ADDR:PORT`` (``[v6]:PORT``); without a port Locust's own 5557 is used.
    Neither given: None (no remote workers). One without the other is an error naming the missing one.
    """
    if bind is None and expect is None:
        return None
    if bind is None:
        raise LoadError(f"--load-expect-workers {expect} needs --load-master-bind ADDR (or "
                        f"{SETTINGS['load_master_bind'].env}): the address of this machine remote workers connect to")
    if expect is None:
        raise LoadError(f"--load-master-bind {bind} needs --load-expect-workers N "
                        f"(or {SETTINGS['load_expect_workers'].env}): how many remote workers to wait for")
    try:
        count = int(expect)
    except (TypeError, ValueError):
        raise LoadError(f"--load-expect-workers {expect!r} is not a whole number; give e.g. 2") from None
    host, port = _split_address(str(bind))
    return RemoteWorkers(bind=host, port=port, expect=count)


def _split_address(text: str) -> tuple[str, int]:
    """``ADDR``, ``ADDR:PORT``, ``[V6]`` or ``[V6]:PORT`` -> (address, port); 5557 when no port is given."""
    host, port = text, str(DEFAULT_MASTER_PORT)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if not host or not port.isdigit():
        raise LoadError(f"--load-master-bind {text!r} must be ADDR or ADDR:PORT, e.g. 10.0.0.5:5557")
    return host, int(port)


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
    #: Workers on other hosts the master also waits for (bound to an address of this machine).
    remote: RemoteWorkers | None = None

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
        if self.remote is not None and not isinstance(self.remote, RemoteWorkers):
            raise LoadError(f"remote must be RemoteWorkers (see remote_workers_setting), got {self.remote!r}")
        check = check_local_target if self.remote is not None else check_loopback_target
        object.__setattr__(self, "target", check(self.target))
        params = dict(self.parameters)
        self.profile_spec.check_parameters(params)
        for key, value in params.items():
            if not isinstance(value, str) or not value:
                raise LoadError(f"profile parameter {key!r} must be a non-empty string, got {value!r}")
        object.__setattr__(self, "parameters", params)

    @property
    def distributed(self) -> bool:
        """Locust runs as a master with workers (local ones, remote ones, or both)."""
        return bool(self.workers or self.remote)

    @property
    def expected_workers(self) -> int:
        return self.workers + (self.remote.expect if self.remote else 0)

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
