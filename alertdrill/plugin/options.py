"""The ``alertdrill`` option group and ini keys, resolved once per session into ``RunSettings``.

Precedence (``alertdrill.settings``): explicit argument > command-line option > environment > ini key
> default. The ini keys (``alertdrill_<option>`` in pytest.ini / pyproject's ``[tool.pytest.ini_options]``)
are a project's own defaults, e.g. the catalogue and rule file ``alertdrill init`` writes; relative paths
in them start at the ini file's directory.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import pytest

from alertdrill.errors import AlertdrillError
from alertdrill.settings import SETTINGS, RunSettings, resolve_settings

__all__ = ["MARKERS", "SETTINGS_KEY", "alertdrill_settings", "settings_from_pytest"]

SETTINGS_KEY = pytest.StashKey[RunSettings]()

#: Markers the drills use; registered here so ``--strict-markers`` works in any repository.
MARKERS = {
    "chaos": "end-to-end alert scenarios against the live stack (pytest -m chaos)",
    "baseline": "runs first, on the freshly started stack (steady load alone fires no alert)",
    "postgres": "scenarios about the Postgres alerts",
    "redis": "scenarios about the Redis alerts",
    "app": "scenarios about the API alerts",
    "monitoring": "scenarios about the monitoring pipeline itself",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("alertdrill", "alertdrill: prove documented alerts")
    for name, setting in SETTINGS.items():
        kwargs: dict[str, Any] = {"default": None, "dest": f"alertdrill_{name}"}
        if name == "rule_files":
            kwargs.update(action="append", metavar="PATH")
        elif name == "strict_coverage":
            kwargs.update(action=argparse.BooleanOptionalAction)
        else:
            kwargs.update(metavar="PATH" if setting.path else name.split("_")[-1].upper())
        group.addoption(setting.option, help=f"{setting.help} (env {setting.env}; ini {setting.ini})",
                        **kwargs)
        parser.addini(setting.ini, f"alertdrill: {setting.help}",
                      type="linelist" if name == "rule_files" else "string", default=None)


def _ini_values(config: pytest.Config) -> dict[str, Any]:
    """The ini keys that are set; relative paths made absolute against the ini file's directory."""
    base = config.inipath.parent if config.inipath else config.rootpath
    values: dict[str, Any] = {}
    for name, setting in SETTINGS.items():
        value = config.getini(setting.ini)
        if value in (None, "", []):
            continue
        if setting.path:
            value = [str(base / p) for p in value] if isinstance(value, list) else str(base / value)
        values[name] = value
    return values


def settings_from_pytest(config: pytest.Config, **explicit: Any) -> RunSettings:
    """The session's settings; ``explicit`` values (a conftest's own choices) beat everything else."""
    options = {name: config.getoption(f"alertdrill_{name}") for name in SETTINGS}
    return resolve_settings(explicit=explicit, options=options, project=_ini_values(config))


def pytest_configure(config: pytest.Config) -> None:
    """Markers; the settings, once: a bad value is a usage error in one line, before anything runs."""
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    try:
        settings = settings_from_pytest(config)
    except AlertdrillError as exc:
        raise pytest.UsageError(f"alertdrill: {exc}") from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput:  # an xdist worker: a stack of its own (see alertdrill.plugin.workers)
        settings = dataclasses.replace(settings, stack_name=f"{settings.stack_name}-{workerinput['workerid']}")
    config.stash[SETTINGS_KEY] = settings


@pytest.fixture(scope="session")
def alertdrill_settings(pytestconfig: pytest.Config) -> RunSettings:
    """The session's settings. Override in a conftest to fix some in code (the "argument" level):
    ``return settings_from_pytest(pytestconfig, time_scale=1)``."""
    return pytestconfig.stash[SETTINGS_KEY]

