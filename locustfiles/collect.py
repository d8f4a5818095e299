"""Locust-side hooks (imported only inside the Locust process): buckets, ledger, status, graceful stop.

* Every completed request is counted into the bucket recorder (local runner and workers).
* Workers attach their cells and acknowledged writes to the stats report Locust already sends to
  the master every ``WORKER_REPORT_INTERVAL`` s (lowered to 1 s here), so remote workers need no
  shared disk; the master (or the local runner) appends them to ``buckets.jsonl`` and
  ``ledger.jsonl`` in ``--alertdrill-out``.
* ``status.json`` tells the controller when the test has started, so it knows load is flowing.
* SIGUSR1 ends the run the way ``--run-time`` does (Locust's SIGTERM path skips the HTML report).
* At ``quit`` the last cells are written, after waiting one CSV interval so Locust's periodic CSV
  writer records the final totals too.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import gevent
import locust.runners
import locust.stats
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from alertdrill.locustfiles.buckets import BucketRecorder, buckets_line
from alertdrill.locustfiles.ledger import AckRecorder

__all__ = ["record_ack"]

FLUSH_INTERVAL_S = 0.25
PAYLOAD_KEY = "alertdrill"
locust.runners.WORKER_REPORT_INTERVAL = 1.0  # read at each report: windows complete within ~1 s

_recorder = BucketRecorder()
_acks = AckRecorder()


def record_ack(*, item_id: int, name: str, value: int) -> None:
    """Remember that the app acknowledged this write (called by the users on a 201)."""
    _acks.record(item_id=item_id, name=name, value=value, at=time.time())


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--alertdrill-out", default="", include_in_web_ui=False,
                        help="directory for buckets.jsonl, ledger.jsonl and status.json (master/local only)")


@events.request.add_listener
def _on_request(request_type: str, name: str, response_time: float | None, response: Any = None,
                exception: BaseException | None = None, **_: Any) -> None:
    status = getattr(response, "status_code", None) or 0
    _recorder.record(at=time.time(), method=request_type, name=name, status=int(status),
                     response_ms=response_time or 0.0, failed=exception is not None)


class _Writer:
    """Appends drained cells and acks to the run's files (master or local runner)."""

    def __init__(self, environment: Environment, out: Path) -> None:
        self.environment = environment
        self.out = out
        self.worker_covered: dict[str, float] = {}
        #: What each worker (Locust's client id) reported: requests and acknowledged writes.
        self.worker_totals: dict[str, dict[str, int]] = {}
        out.mkdir(parents=True, exist_ok=True)
        self._buckets = (out / "buckets.jsonl").open("a", encoding="utf-8")
        self._ledger = (out / "ledger.jsonl").open("a", encoding="utf-8")

    def covered_to(self, now: float) -> float:
        runner = self.environment.runner
        if not isinstance(runner, MasterRunner):
            return now
        connected = [client.id for client in runner.clients.all]
        if not connected:
            return now
        return min(self.worker_covered.get(client_id, 0.0) for client_id in connected)

    def flush(self, *, final: bool = False) -> None:
        now = time.time()
        covered = now if final else self.covered_to(now)
        cells = _recorder.drain()
        self._buckets.write(buckets_line(at=now, covered_to=covered, resolution=_recorder.resolution, cells=cells))
        self._buckets.flush()
        acks = _acks.drain()
        if acks:
            self._ledger.write("".join(json.dumps(a, separators=(",", ":")) + "\n" for a in acks))
            self._ledger.flush()

    def loop(self) -> None:
        while True:
            gevent.sleep(FLUSH_INTERVAL_S)
            self.flush()

    def status(self, state: str, **extra: Any) -> None:
        path = self.out / "status.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"state": state, "at": time.time(), "pid": os.getpid(), **extra}))
        tmp.replace(path)

    def close(self) -> None:
        self._buckets.close()
        self._ledger.close()


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        @events.report_to_master.add_listener
        def _report(client_id: str, data: dict[str, Any]) -> None:
            data[PAYLOAD_KEY] = {"cells": _recorder.drain(), "acks": _acks.drain(), "at": time.time()}
        return

    out = getattr(environment.parsed_options, "alertdrill_out", "") if environment.parsed_options else ""
    if not out:
        return
    writer = _Writer(environment, Path(out))

    if isinstance(runner, MasterRunner):
        @events.worker_report.add_listener
        def _merge(client_id: str, data: dict[str, Any]) -> None:
            payload = data.get(PAYLOAD_KEY)
            if payload:
                _recorder.merge(payload["cells"])
                _acks.merge(payload["acks"])
                writer.worker_covered[client_id] = float(payload["at"])
                totals = writer.worker_totals.setdefault(client_id, {"requests": 0, "acks": 0})
                totals["requests"] += sum(int(cell[4]) for cell in payload["cells"])
                totals["acks"] += len(payload["acks"])

    @events.test_start.add_listener
    def _started(**_: Any) -> None:
        writer.status("running", started_at=time.time())

    @events.quit.add_listener
    def _quit(**_: Any) -> None:
        gevent.sleep(locust.stats.CSV_STATS_INTERVAL_SEC + 0.1)  # let Locust's CSV writer record the totals
        writer.flush(final=True)
        writer.status("done", stopped_at=time.time(), workers=writer.worker_totals)
        writer.close()

    def _graceful_stop() -> None:
        if runner is not None:
            gevent.spawn(runner.quit)

    gevent.signal_handler(signal.SIGUSR1, _graceful_stop)
    gevent.spawn(writer.loop)
    writer.status("starting")
