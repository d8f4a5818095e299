"""gunicorn configuration for the API (``gunicorn -c stack/app/gunicorn_conf.py ...``).

Why each setting or hook is here:

* ``on_starting`` validates the environment in the master, so a missing variable stops gunicorn at
  once with one line instead of crash-looping workers; it also empties ``PROMETHEUS_MULTIPROC_DIR`` of
  a previous run's files (stale counters would be merged into this run's) and records the master
  pid for the process-tree metrics.
* ``child_exit`` calls ``multiprocess.mark_process_dead`` so a dead worker's live gauges (in-flight,
  max latency) stop counting.
* ``preload_app = False``: each worker imports the app after the fork and opens its own pools; pools
  and threads created in the master would be shared, broken, across forks.
* ``control_socket_disable``: gunicorn >= 24 opens a control socket at a fixed per-user path, which
  collides when several stacks (or tests) run at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

from alertdrill.errors import ConfigError
from alertdrill.stack.app.proctree import MASTER_PID_ENV
from alertdrill.stack.app.settings import Settings

wsgi_app = "alertdrill.stack.app.wsgi:app"
worker_class = "gthread"
workers = 2
threads = 8  # more in all than the steady load's users: see stack/components.py APP_THREADS
preload_app = False
timeout = 30
graceful_timeout = 10
keepalive = 5
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Fail fast on bad environment; start the metrics directory empty; publish the master pid."""
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        raise SystemExit(str(exc)) from None
    directory = Path(settings.multiproc_dir)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[MASTER_PID_ENV] = str(os.getpid())


def child_exit(server: Any, worker: Any) -> None:
    """Drop the exited worker's live gauges from the merged metrics."""
    multiprocess.mark_process_dead(worker.pid)
