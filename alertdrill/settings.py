"""Run settings, with one precedence rule for every front end (the CLI and the pytest plugin):

    explicit argument > command-line option > environment > project file (pytest ini) > default

Each setting has exactly one environment variable, the same wherever it is read (``SETTINGS`` lists
them; README's "Settings" table is this table). At every level ``None`` means "not given": ``0``,
``False`` and an empty list are values, so ``--load-workers 0`` beats ``ALERTDRILL_LOAD_WORKERS=4``
and ``--time-scale 0`` is an error rather than a silent fallback. An empty environment variable counts
as unset (the shell's ``VAR= cmd`` idiom).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from alertdrill.errors import ConfigError
from alertdrill.stack.backends.base import BACKENDS

__all__ = ["DEFAULT_TIME_SCALE", "MAX_TIME_SCALE", "SETTINGS", "RunSettings", "Setting", "resolve_setting",
           "resolve_settings"]

#: Rule durations are divided by this in end-to-end runs: `for: 5m` becomes 5 s. Chosen so the whole
#: chaos suite runs in a few minutes while every `for` still spans several 1 s evaluations.
DEFAULT_TIME_SCALE = 60.0

#: Larger factors turn every shipped duration of an hour or less into under one second, below the
#: fast stack's 1 s evaluation interval: no `for` would be tested at all.
MAX_TIME_SCALE = 3600.0


@dataclass(frozen=True)
class RunSettings:
    """What a test session runs against (every field's default is the "default" level)."""

    time_scale: float = DEFAULT_TIME_SCALE
    rule_files: tuple[Path, ...] = ()
    stack_name: str = "pytest"
    #: Where stacks live; None: ``stack.state.default_home()``.
    home: Path | None = None
    load_workers: int = 0
    #: ``ADDR[:PORT]`` of this machine the Locust master binds for remote workers; None: no remote workers.
    load_master_bind: str | None = None
    #: How many remote workers the master waits for (with ``load_master_bind``).
    load_expect_workers: int | None = None
    strict_coverage: bool = True
    #: The scenario catalogue; None: the shipped one (``alertdrill.catalogue.DEFAULT_CATALOGUE``).
    catalogue: Path | None = None
    report_dir: Path = Path("reports")
    backend: str = "native"
    external_config: Path | None = None
    #: The compose backend's images: ``local`` stand-ins built from Debian packages (no registry needed),
    #: or the ``upstream`` images stack/docker-compose.yml pins.
    compose_images: str = "local"
    #: Where a promtool replay of every passed drill goes (``--record``); None: nothing is recorded.
    record_dir: Path | None = None
    #: Clients may contact addresses off this machine (alertdrill.netpolicy); default: loopback only.
    allow_remote: bool = False


def _time_scale(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0 or number > MAX_TIME_SCALE:
        raise ValueError(f"must be a number > 0 and at most {MAX_TIME_SCALE:g} (a larger factor shrinks every "
                         "`for` under an hour below the 1 s evaluation interval), e.g. 60, or 1 for production timing")
    return number


def _non_negative_int(value: Any) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be >= 0")
    return number


def _positive_int(value: Any) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be >= 1")
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be 1/true/yes or 0/false/no")


def _paths(value: str | Iterable[str | Path]) -> tuple[Path, ...]:
    """A colon-separated list (environment) or a list (options); relative paths start at the cwd."""
    items = value.split(":") if isinstance(value, str) else value
    return tuple(Path(p).resolve() for p in items if str(p))


def _backend(value: Any) -> str:
    if value not in BACKENDS:
        raise ValueError(f"must be one of {', '.join(BACKENDS)}")
    return str(value)


def _compose_images(value: Any) -> str:
    if value not in ("local", "upstream"):
        raise ValueError("must be local or upstream")
    return str(value)


@dataclass(frozen=True)
class Setting:
    """One run setting: its ``RunSettings`` field, its pytest option, its one environment variable, and
    the conversion every level's value goes through (raising ValueError with the reason)."""

    field: str
    option: str
    env: str
    convert: Callable[[Any], Any]
    help: str
    #: A path setting: relative paths in a project file (pytest ini) start at that file's directory.
    path: bool = False

    @property
    def ini(self) -> str:
        """The key in a project file (pytest ini): ``--rules`` -> ``alertdrill_rules``."""
        return "alertdrill_" + self.option.lstrip("-").replace("-", "_")


SETTINGS: dict[str, Setting] = {s.field: s for s in (
    Setting("time_scale", "--time-scale", "ALERTDRILL_TIME_SCALE", _time_scale,
            f"divide rule durations by this (default {DEFAULT_TIME_SCALE:g}); 1 = production timing"),
    Setting("rule_files", "--rules", "ALERTDRILL_RULES", _paths,
            "test these rule files instead of the shipped rules (option repeatable; environment colon-separated)",
            path=True),
    Setting("stack_name", "--stack-name", "ALERTDRILL_STACK_NAME", str,
            "name of the stack, a directory under the home (default: pytest for test sessions, default for "
            "the CLI)"),
    Setting("home", "--stack-home", "ALERTDRILL_HOME", Path,
            "where stacks live (default /tmp/alertdrill-UID)", path=True),
    Setting("load_workers", "--load-workers", "ALERTDRILL_LOAD_WORKERS", _non_negative_int,
            "run Locust distributed with this many worker processes (default 0: local)"),
    Setting("load_master_bind", "--load-master-bind", "ALERTDRILL_LOAD_MASTER_BIND", str,
            "bind the Locust master to this address of this machine (ADDR or ADDR:PORT; port 5557 unless given, "
            "0 = any free one) for workers on other hosts, and print their command"),
    Setting("load_expect_workers", "--load-expect-workers", "ALERTDRILL_LOAD_EXPECT_WORKERS", _positive_int,
            "how many remote Locust workers the master waits for (up to 300 s) before the load starts "
            "(with --load-master-bind)"),
    Setting("strict_coverage", "--strict-coverage", "ALERTDRILL_STRICT_COVERAGE", _flag,
            "fail (one line, before the stack starts) when an alert in the rules has no scenario, a scenario's "
            "alert is not in the rules, or a name in the catalogue matches no rule (default on; "
            "--no-strict-coverage lists them and skips such scenarios instead)"),
    Setting("catalogue", "--catalogue", "ALERTDRILL_CATALOGUE", Path,
            "scenario catalogue mapping alerts to faults (default: the shipped one)", path=True),
    Setting("report_dir", "--report-dir", "ALERTDRILL_REPORT_DIR", Path,
            "where the summary and artifacts go (default reports)", path=True),
    Setting("backend", "--backend", "ALERTDRILL_BACKEND", _backend,
            "where the stack runs: native (default), compose, or external (a staging stack given by URLs)"),
    Setting("external_config", "--external-config", "ALERTDRILL_EXTERNAL_CONFIG", Path,
            "YAML/JSON file with the external stack's URLs and DSNs", path=True),
    Setting("compose_images", "--compose-images", "ALERTDRILL_COMPOSE_IMAGES", _compose_images,
            "the compose backend's images: local (default: stand-ins built from Debian packages, no registry "
            "needed) or upstream (the images stack/docker-compose.yml pins)"),
    Setting("record_dir", "--record", "ALERTDRILL_RECORD_DIR", Path,
            "write a promtool replay of every passed drill to DIR/<scenario>/ (e.g. reports/recordings)",
            path=True),
    Setting("allow_remote", "--allow-remote", "ALERTDRILL_ALLOW_REMOTE", _flag,
            "let the external backend and clients contact addresses off this machine (default: loopback only)"),
)}
assert set(SETTINGS) == {f.name for f in fields(RunSettings)}, "every RunSettings field is a Setting"

_DEFAULTS = RunSettings()


def resolve_setting(name: str, *, explicit: Any = None, option: Any = None, project: Any = None,
                    default: Any = None, environ: Mapping[str, str] | None = None) -> Any:
    """One setting by the precedence rule; ``default`` None: ``RunSettings``' own default."""
    setting = SETTINGS[name]
    environ = os.environ if environ is None else environ
    raw_env = environ.get(setting.env)
    levels = ((explicit, f"{name}="), (option, setting.option), (raw_env or None, setting.env),
              (project, f"ini {setting.ini}"))
    for value, source in levels:
        if value is not None:
            try:
                return setting.convert(value)
            except (TypeError, ValueError) as exc:
                reason = str(exc) if "must" in str(exc) else f"is not a valid {name.replace('_', ' ')}"
                raise ConfigError(f"{source} {value!r} {reason}; fix it or leave it unset") from None
    return getattr(_DEFAULTS, name) if default is None else default


def resolve_settings(*, explicit: Mapping[str, Any] | None = None, options: Mapping[str, Any] | None = None,
                     project: Mapping[str, Any] | None = None,
                     environ: Mapping[str, str] | None = None) -> RunSettings:
    """Every setting by the precedence rule: each mapping is field name -> value (None: not given)."""
    explicit, options, project = explicit or {}, options or {}, project or {}
    unknown = set(explicit) - set(SETTINGS)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(SETTINGS)}")
    return RunSettings(**{name: resolve_setting(name, explicit=explicit.get(name), option=options.get(name),
                                                project=project.get(name), environ=environ)
                          for name in SETTINGS})
