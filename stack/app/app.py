"""The application factory: wires settings, pools, metrics, the fault switch and the routes."""

from __future__ import annotations

from flask import Flask

from . import handlers, instrument
from .cache import Cache
from .db import Database
from .faults import FaultSwitch
from .metrics import bind_metrics, exposition_registry
from .routes import api
from .settings import Settings
from .state import EXTENSION_KEY, AppState

__all__ = ["create_app"]

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings) -> Flask:
    """Build the API for one worker process.

    Opens the Postgres pool and starts the Redis connection keeper without waiting for either server,
    so start-up is fast and succeeds while they are down; requests that need them answer 503 until
    they are back. Call ``app.extensions["alertdrill"].close()`` to release the pools.
    """
    metrics = bind_metrics(settings.multiproc_dir, settings.max_latency_window_s)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]

    state = AppState(
        settings=settings,
        db=Database(settings),
        cache=Cache(settings),
        faults=FaultSwitch(settings.fault_file),
        metrics=metrics,
        registry=exposition_registry(settings.multiproc_dir),
    )
    app.extensions[EXTENSION_KEY] = state

    instrument.install(app, metrics, state.faults)
    handlers.install(app, metrics)
    app.register_blueprint(api)
    metrics.zero_error_series(sorted(
        (method, rule.rule) for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.rule not in instrument.NOT_MEASURED
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    ))

    state.db.open()
    state.cache.open()
    return app
