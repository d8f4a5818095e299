"""A fault's parameters, declared once on its class: type, default, bounds, choices.

The same declaration validates a catalogue entry when it loads (before any stack starts), builds the
fault, and rebuilds it from its journal entry. A bad value is one ConfigError line naming the
parameter, what it must be and what it got.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from alertdrill.errors import ConfigError

__all__ = ["REQUIRED", "Param", "check_number", "closest", "validate_params"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a parameter that has none: the catalogue must give it.
REQUIRED: Any = _Required()


def check_number(name: str, value: Any, *, low: float, high: float, integer: bool = False,
                 low_inclusive: bool = True) -> Any:
    """Validate a number; ConfigError names the argument, its range and the bad value."""
    kind = "an integer" if integer else "a number"
    expected = f"{name} must be {kind} in {'[' if low_inclusive else '('}{low:g}..{high:g}]"
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or (isinstance(value, float) and math.isnan(value)):
        raise ConfigError(f"{expected}, got {value!r}")
    too_low = value < low if low_inclusive else value <= low
    if too_low or value > high:
        raise ConfigError(f"{expected}, got {value!r}")
    return value


def closest(name: str, known: Any) -> str:
    """``; did you mean X?`` for a near miss among ``known``, else an empty string."""
    matches = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(matches)}?" if matches else ""


@dataclass(frozen=True)
class Param:
    """One parameter of a fault kind."""

    type: type
    default: Any = REQUIRED
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    choices: tuple[str, ...] | None = None
    #: A further check of the value (e.g. a SQL identifier); raises ConfigError.
    check: Callable[[str, Any], None] | None = None
    help: str = ""

    def validate(self, name: str, value: Any) -> Any:
        """``value`` converted to the parameter's type, or a one-line ConfigError."""
        if value is None and self.default is None:
            return None
        if self.type in (int, float):
            check_number(name, value, low=-math.inf if self.low is None else self.low,
                         high=math.inf if self.high is None else self.high, integer=self.type is int,
                         low_inclusive=self.low_inclusive)
            value = self.type(value)
        elif not isinstance(value, self.type):
            raise ConfigError(f"{name} must be a {self.type.__name__}, got {value!r}")
        if self.choices is not None and value not in self.choices:
            hint = closest(value, self.choices)
            raise ConfigError(f"{name} must be one of {', '.join(self.choices)}, got {value!r}{hint}")
        if self.check is not None:
            self.check(name, value)
        return value

    def describe(self, name: str) -> str:
        """``name: type = default`` for listings and errors."""
        default = "" if self.default is REQUIRED else f" = {self.default!r}"
        return f"{name}: {self.type.__name__}{default}"


def validate_params(kind: str, spec: Mapping[str, Param], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of ``kind`` with its validated value (defaults filled in)."""
    unknown = sorted(set(raw) - set(spec))
    if unknown:
        accepted = ", ".join(p.describe(n) for n, p in spec.items()) or "none"
        raise ConfigError(f"fault {kind} takes no parameter {unknown[0]!r}{closest(unknown[0], spec)} "
                          f"(it takes: {accepted})")
    values: dict[str, Any] = {}
    for name, param in spec.items():
        if name in raw:
            values[name] = param.validate(f"{kind} {name}", raw[name])
        elif param.default is REQUIRED:
            raise ConfigError(f"fault {kind} needs the parameter {param.describe(name)}")
        else:
            values[name] = param.default
    return values
