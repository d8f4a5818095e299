"""Run settings with one precedence rule: explicit argument > pytest option > environment > default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from alertdrill.errors import ConfigError

__all__ = ["DEFAULT_TIME_SCALE", "RunSettings", "env_float"]

#: Rule durations are divided by this in end-to-end runs: `for: 5m` becomes 5 s. Chosen so the whole
#: chaos suite runs in a few minutes while every `for` still spans several 1 s evaluations.
DEFAULT_TIME_SCALE = 60.0


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to e.g. {default:g} or unset it") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be > 0")
    return value


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
    #: The compose backend's images: ``local`` stand-ins built from Debian packages (no registry needed),
    #: or the ``upstream`` images docker-compose.yml pins.
    compose_images: str = "local"
    #: Where a promtool replay of every passed drill goes (``--record``); None: nothing is recorded.
    record_dir: Path | None = None
