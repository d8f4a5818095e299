"""Prometheus durations ("1m30s", "250ms", "1w") to seconds and back.

Rule files, Prometheus' config and Alertmanager's config all write durations in Prometheus' own
format (``model.ParseDuration``): unit groups from largest to smallest, each at most once, integer
counts only. Deadlines are computed from those values, so they are parsed exactly as Prometheus
does rather than with a lenient home-made rule.
"""

from __future__ import annotations

import math
import re

from alertdrill.errors import ConfigError

__all__ = ["UNITS", "format_duration", "parse_duration"]

#: Unit name -> seconds, largest first (the only order Prometheus accepts).
UNITS: dict[str, float] = {
    "y": 365 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}

_DURATION = re.compile(
    r"^(?:(?P<y>\d+)y)?(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?"
    r"(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?$"
)


def parse_duration(value: str | float | int, *, what: str = "duration") -> float:
    """Seconds in a Prometheus duration; numbers pass through as seconds (the HTTP APIs use them).

    Raises :class:`ConfigError` naming the bad value, e.g. ``"5 m"`` or ``"1.5m"`` which Prometheus
    rejects too.
    """
    if isinstance(value, bool):
        raise ConfigError(f"{what}: {value!r} is not a duration; write e.g. '30s', '5m' or '1h30m'")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{what}: {value!r} is not a non-negative finite number of seconds")
        return float(value)
    text = str(value).strip()
    if text == "0":
        return 0.0
    match = _DURATION.match(text) if text else None
    if match is None or not any(match.groupdict().values()):
        raise ConfigError(
            f"{what}: {value!r} is not a Prometheus duration; write integer counts with units "
            "y, w, d, h, m, s, ms from largest to smallest, e.g. '1m30s', '250ms', '2h'"
        )
    return sum(int(count) * UNITS[unit] for unit, count in match.groupdict().items() if count)


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for ``seconds`` (rounded to the millisecond): 90 -> "1m30s".

    Years and weeks are only used when they divide the value exactly, as Prometheus prints them.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"cannot format {seconds!r} as a duration: need a non-negative finite number")
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    out = []
    for unit in ("y", "w"):
        size = round(UNITS[unit] * 1000)
        if millis % size == 0:
            out.append(f"{millis // size}{unit}")
            millis = 0
            break
    for unit in ("d", "h", "m", "s", "ms"):
        size = round(UNITS[unit] * 1000)
        count, millis = divmod(millis, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)
