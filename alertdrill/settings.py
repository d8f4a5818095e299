"""Run settings with one precedence rule: explicit argument > pytest option > environment > default.

Every value is validated here, before anything starts, and a bad one is a ConfigError that names the
option or environment variable it came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from alertdrill.errors import ConfigError

__all__ = ["ALLOW_REMOTE_ENV", "DEFAULT_TIME_SCALE", "RunSettings", "env_flag", "env_float", "time_scale_setting"]

#: Rule durations are divided by this in end-to-end runs: `for: 5m` becomes 5 s. Chosen so the whole
#: chaos suite runs in a few minutes while every `for` still spans several 1 s evaluations.
DEFAULT_TIME_SCALE = 60.0

#: Set (to 1/true/yes) by ``--allow-remote`` or by the user: clients may contact addresses off this machine.
ALLOW_REMOTE_ENV = "ALERTDRILL_ALLOW_REMOTE"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to e.g. {default:g} or unset it") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name}={raw!r} must be a finite number > 0; set it to e.g. {default:g} or unset it")
    return value


def env_flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """A yes/no environment variable; anything else is a ConfigError naming it."""
    environ = os.environ if environ is None else environ
    raw = environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name}={environ[name]!r} is not a yes/no value; set it to 1 or 0, or unset it")


def time_scale_setting(option_value: object | None) -> float:
    """The time scale from the option (if given), else ``ALERTDRILL_TIME_SCALE``, else the default; validated."""
    from alertdrill.bounds import check_time_scale

    if option_value is not None:
        return check_time_scale(option_value, option="--time-scale")
    raw = os.environ.get("ALERTDRILL_TIME_SCALE")
    if raw is None or raw == "":
        return DEFAULT_TIME_SCALE
    return check_time_scale(raw, option="ALERTDRILL_TIME_SCALE")


@dataclass(frozen=True)
class RunSettings:
    """What a test session runs against."""

    time_scale: float = DEFAULT_TIME_SCALE
    rule_files: tuple[Path, ...] = ()
    stack_name: str = "pytest"
    home: Path | None = None
    load_workers: int = 0
    strict_coverage: bool = False
    catalogue: Path | None = None
    report_dir: Path = Path("reports")
    backend: str = "native"
    external_config: str | None = None
    #: Where a promtool replay of every passed drill goes (``--record``); None: nothing is recorded.
    record_dir: Path | None = None
    #: Clients may contact addresses off this machine (``--allow-remote`` / ALERTDRILL_ALLOW_REMOTE).
    allow_remote: bool = False
