"""WSGI entry point: ``alertdrill.stack.app.wsgi:app``, configured from the environment.

Imported by each gunicorn worker after the fork (gunicorn_conf sets ``preload_app = False``), so
every worker opens its own Postgres and Redis pools.
"""

from __future__ import annotations

import logging
import os

from .app import create_app
from .settings import Settings

__all__ = ["app"]

if not logging.getLogger().handlers:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s")
logging.getLogger("alertdrill").setLevel(logging.INFO)

app = create_app(Settings.from_env(os.environ))
