"""The external backend: the suite against a stack that already runs elsewhere, given by URLs and DSNs.

alertdrill starts nothing here, so only the faults that work over a connection (Postgres and Redis
faults, app load) can run; service faults raise a FaultInjectError that names the native and compose
backends. The addresses come from a YAML or JSON file, or from ``ALERTDRILL_EXTERNAL_<KEY>``
environment variables (a key in the file wins over the environment: explicit beats ambient).
Validation checks shape and required keys, and that every address is on this machine unless remote
traffic is allowed (``--allow-remote`` / ``ALERTDRILL_ALLOW_REMOTE=1``, see alertdrill.netpolicy);
which hosts load and faults may target is enforced where the load and the faults run.

    prometheus_url: http://prometheus.internal:9090
    alertmanager_url: http://alertmanager.internal:9093
    app_url: http://api.internal:5000
    sink_url: http://127.0.0.1:9095            # where that Alertmanager's webhooks land
    postgres_dsn: postgresql://postgres@db.internal:5432/alertdrill
    redis_url: redis://cache.internal:6379/0
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from alertdrill.errors import ConfigError, StackStartError
from alertdrill.netpolicy import remote_allowed, require_local
from alertdrill.stack.backends.base import ProcesslessControl
from alertdrill.stack.state import StackInfo, check_home, read_state, write_state
from alertdrill.waiting import poll_until

__all__ = ["ENV_CONFIG_FILE", "ENV_PREFIX", "OPTIONAL_KEYS", "REQUIRED_KEYS", "ExternalStack", "load_external"]

ENV_PREFIX = "ALERTDRILL_EXTERNAL_"
ENV_CONFIG_FILE = "ALERTDRILL_EXTERNAL_CONFIG"
REQUIRED_KEYS = ("prometheus_url", "alertmanager_url", "app_url", "sink_url", "postgres_dsn", "redis_url")
#: app/exporter DSNs default to postgres_dsn; an external stack keeps its own (production) timing.
OPTIONAL_KEYS = ("name", "app_postgres_dsn", "exporter_postgres_dsn", "time_scale")
_HTTP_KEYS = ("prometheus_url", "alertmanager_url", "app_url", "sink_url")
_DSN_KEYS = ("postgres_dsn", "app_postgres_dsn", "exporter_postgres_dsn")
_EXAMPLES = {
    "prometheus_url": "http://prometheus.example:9090",
    "alertmanager_url": "http://alertmanager.example:9093",
    "app_url": "http://api.example:5000",
    "sink_url": "http://127.0.0.1:9095",
    "postgres_dsn": "postgresql://postgres@db.example:5432/alertdrill",
    "app_postgres_dsn": "postgresql://alertdrill_app@db.example:5432/alertdrill",
    "exporter_postgres_dsn": "postgresql://postgres_exporter@db.example:5432/alertdrill",
    "redis_url": "redis://cache.example:6379/0",
}
_READY_PATHS = {"prometheus_url": "/-/ready", "alertmanager_url": "/-/ready", "sink_url": "/-/ready",
                "app_url": "/status"}


def load_external(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None,
                  home: Path | None = None) -> StackInfo:
    """Read, validate and complete an external stack's addresses into a StackInfo."""
    environ = os.environ if environ is None else environ
    raw = _from_environment(environ)
    path = path or environ.get(ENV_CONFIG_FILE) or None
    if path is not None:
        raw.update(_read_file(Path(path)))
    return _stack_info(raw, home=home, source=str(path) if path else f"{ENV_PREFIX}* variables",
                       allow_remote=remote_allowed(environ))


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for key in (*REQUIRED_KEYS, *OPTIONAL_KEYS):
        value = environ.get(ENV_PREFIX + key.upper(), "").strip()
        if value:
            values[key] = value
    return values


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"external stack file {path} cannot be read ({exc.strerror or exc}); "
                          f"pass an existing YAML or JSON file") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except ValueError as exc:
        raise ConfigError(f"external stack file {path} is not valid JSON: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"external stack file {path} is not valid YAML{where}: "
                          f"{getattr(exc, 'problem', None) or exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"external stack file {path} must hold a mapping of keys to URLs, e.g. "
                          f"prometheus_url: {_EXAMPLES['prometheus_url']}")
    return data


def _stack_info(raw: Mapping[str, Any], *, home: Path | None, source: str, allow_remote: bool) -> StackInfo:
    unknown = sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise ConfigError(f"external stack ({source}): unknown key(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}")
    missing = [key for key in REQUIRED_KEYS if not raw.get(key)]
    if missing:
        hint = ", ".join(f"{key} (or {ENV_PREFIX}{key.upper()})" for key in missing)
        raise ConfigError(f"external stack ({source}): missing {hint}")
    values = {key: str(raw[key]).strip() for key in (*REQUIRED_KEYS, *OPTIONAL_KEYS) if raw.get(key) is not None}
    values.setdefault("app_postgres_dsn", values["postgres_dsn"])
    values.setdefault("exporter_postgres_dsn", values["postgres_dsn"])
    for key in _HTTP_KEYS:
        _check_url(key, values[key], ("http", "https"), source)
        values[key] = values[key].rstrip("/")
    for key in _DSN_KEYS:
        _check_url(key, values[key], ("postgresql", "postgres"), source)
    _check_url("redis_url", values["redis_url"], ("redis", "rediss"), source)
    for key in (*_HTTP_KEYS, *_DSN_KEYS, "redis_url"):
        require_local(values[key], what=f"external stack ({source}): {key}", allowed=allow_remote)
    name = values.get("name", "external")
    if "/" in name or name.startswith("."):
        raise ConfigError(f"external stack ({source}): name {name!r} must be a plain directory name, e.g. 'staging'")
    time_scale = _positive(values.get("time_scale", "1"), source)
    run_dir = check_home(home) / name
    return StackInfo(
        name=name,
        run_dir=str(run_dir),
        backend="external",
        prometheus_url=values["prometheus_url"],
        alertmanager_url=values["alertmanager_url"],
        app_url=values["app_url"],
        sink_url=values["sink_url"],
        postgres_dsn=values["postgres_dsn"],
        app_postgres_dsn=values["app_postgres_dsn"],
        exporter_postgres_dsn=values["exporter_postgres_dsn"],
        redis_url=values["redis_url"],
        time_scale=time_scale,
        ports=_ports(values),
    )


def _check_url(key: str, value: str, schemes: tuple[str, ...], source: str) -> None:
    problem = None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:
        problem = str(exc)
    else:
        if parts.scheme not in schemes:
            problem = f"scheme must be {' or '.join(schemes)}"
        elif not parts.hostname:
            problem = "it has no host"
        elif parts.fragment or (parts.query and parts.scheme in ("http", "https")):
            problem = "it must not carry a query or fragment"
    if problem:
        raise ConfigError(f"external stack ({source}): {key} {value!r} is not valid ({problem}); "
                          f"write it like {_EXAMPLES[key]}")


def _positive(raw: str, source: str) -> float:
    from alertdrill.settings import SETTINGS

    try:
        return SETTINGS["time_scale"].convert(raw)  # finite, > 0 and bounded, like --time-scale
    except ValueError:
        raise ConfigError(f"external stack ({source}): time_scale {raw!r} must be a number > 0 and at most "
                          f"3600; use 1 unless that stack's rules are scaled") from None


def _ports(values: Mapping[str, str]) -> dict[str, int]:
    defaults = {"http": 80, "https": 443, "postgresql": 5432, "postgres": 5432, "redis": 6379, "rediss": 6379}
    ports = {}
    for component, key in (("prometheus", "prometheus_url"), ("alertmanager", "alertmanager_url"),
                           ("app", "app_url"), ("sink", "sink_url"), ("postgres", "postgres_dsn"),
                           ("redis", "redis_url")):
        parts = urlsplit(values[key])
        ports[component] = parts.port or defaults[parts.scheme]
    return ports


class ExternalStack(ProcesslessControl):
    """An existing stack: checked for reachability on start, never started or stopped by alertdrill."""

    backend = "external"
    supports_service_faults = False

    def __init__(self, info: StackInfo, *, ready_timeout: float = 30.0) -> None:
        if ready_timeout <= 0:
            raise ConfigError(f"ready timeout must be > 0 s, got {ready_timeout!r}")
        self.info: StackInfo | None = info
        self._config = info
        self.ready_timeout = ready_timeout

    @classmethod
    def from_config(cls, path: str | Path | None = None, *, environ: Mapping[str, str] | None = None,
                    home: Path | None = None, ready_timeout: float = 30.0) -> ExternalStack:
        return cls(load_external(path, environ=environ, home=home), ready_timeout=ready_timeout)

    @classmethod
    def attach(cls, run_dir: Path) -> ExternalStack:
        """The external stack recorded in ``run_dir`` by an earlier start (recovery, `down`)."""
        info = read_state(run_dir)
        if info.backend != "external":
            raise ConfigError(f"the stack in {run_dir} runs on the {info.backend} backend, not external")
        return cls(info)

    @property
    def run_dir(self) -> Path:
        """Local directory for the fault journal and the state file; the stack itself lives elsewhere."""
        return Path(self._config.run_dir)

    def __enter__(self) -> StackInfo:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> StackInfo:
        """Wait until every HTTP endpoint answers, then record the stack for later commands."""
        info = self._config
        began = time.monotonic()
        for key, suffix in _READY_PATHS.items():
            url = getattr(info, key) + suffix
            last: list[str] = ["not tried"]

            def probe(url: str = url, last: list[str] = last, key: str = key) -> bool:
                try:
                    status = requests.get(url, timeout=2).status_code
                except requests.ConnectionError as exc:
                    if "refused" in str(exc).lower():  # nothing listens there: waiting will not change that
                        raise StackStartError(f"external stack: {key.removesuffix('_url')} at {url} refused the "
                                              "connection; check the URL and that the service runs") from exc
                    last[0] = type(exc).__name__
                    return False
                except requests.RequestException as exc:
                    last[0] = type(exc).__name__
                    return False
                last[0] = f"HTTP {status}"
                return status == 200

            remaining = max(0.0, began + self.ready_timeout - time.monotonic())
            ok, _ = poll_until(probe, timeout=remaining, interval=0.5)
            if not ok:
                raise StackStartError(f"external stack: {key.removesuffix('_url')} at {url} did not answer 200 "
                                      f"within {self.ready_timeout:g}s (last: {last[0]}); check the URL and that "
                                      "it is reachable from this machine")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "faults").mkdir(exist_ok=True)
        info.started_at = time.time()
        info.startup_seconds = round(time.monotonic() - began, 2)
        write_state(info)
        self.info = info
        return info

    def stop(self) -> None:
        """Forget the stack locally (state and journal directory); the stack itself keeps running."""
        shutil.rmtree(self.run_dir, ignore_errors=True)
