"""The notification sink: the HTTP endpoint Alertmanager's webhook receivers POST to.

It is the proof of delivery. Each POST to ``/<receiver>`` becomes one :class:`Notification` with the
wall-clock receive time, appended to a JSON-lines journal and kept in memory. Readers long-poll
``GET /notifications?since=<seq>&wait=<s>`` and are answered the moment a notification arrives.
Standard library only, so the process is ready in well under a second::

    python -m alertdrill.assertions.sink --host 127.0.0.1 --port 9199 --journal run/notifications.jsonl

Endpoints: ``POST /<receiver>`` (webhook), ``GET /notifications``, ``DELETE /notifications``,
``GET /-/ready``, ``GET /-/healthy``, ``GET /metrics`` (Prometheus text format).
It only binds to loopback addresses: it accepts anything POSTed to it and must not be exposed.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import signal
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, unquote, urlsplit

from alertdrill.errors import ConfigError, ObservationError

from .notifications import MAX_WAIT, Notification, SinkClient, parse_webhook

__all__ = ["MAX_BODY", "NotificationSink", "NotificationStore", "main"]

log = logging.getLogger("alertdrill.sink")

#: Largest webhook body accepted (Alertmanager payloads are a few KiB per alert).
MAX_BODY = 16 * 1024 * 1024
#: Notifications kept in memory; older ones stay in the journal only.
MAX_KEPT = 10_000


class NotificationStore:
    """Notifications in arrival order, a condition for long polls, and the journal file."""

    def __init__(self, journal: Path | None = None) -> None:
        self._cond = threading.Condition()
        self._items: list[Notification] = []
        self._next_seq = 1
        self._closed = False
        self.counts: Counter[tuple[str, str]] = Counter()
        self.last_received = 0.0
        self.journal = journal
        self._file: IO[str] | None = None
        if journal is not None:
            journal.parent.mkdir(parents=True, exist_ok=True)
            self._next_seq = _last_seq(journal) + 1
            self._file = journal.open("a", encoding="utf-8")

    def add(self, payload: Any, path_receiver: str) -> Notification:
        """Record one webhook body; ValueError when it is not an Alertmanager payload."""
        received_at = time.time()
        with self._cond:
            note = parse_webhook(payload, path_receiver=path_receiver, received_at=received_at,
                                 seq=self._next_seq)
            self._next_seq += 1
            self._items.append(note)
            del self._items[:-MAX_KEPT]
            self.counts[(note.receiver, note.status)] += 1
            self.last_received = received_at
            if self._file is not None:
                self._file.write(json.dumps(note.to_dict(), sort_keys=True) + "\n")
                self._file.flush()
            self._cond.notify_all()
        return note

    def since(self, seq: int, wait: float = 0.0) -> tuple[int, list[Notification]]:
        """Notifications with seq >= ``seq``, waiting up to ``wait`` s for one; and the next seq."""
        deadline = time.monotonic() + max(0.0, min(wait, MAX_WAIT))
        with self._cond:
            while True:
                found = [n for n in self._items if n.seq >= seq]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0 or self._closed:
                    break
                self._cond.wait(remaining)
            # An unknown future seq (e.g. from before a sink restart) falls back to ours.
            return (found[-1].seq + 1 if found else min(seq, self._next_seq)), found

    def clear(self) -> int:
        """Forget the held notifications (the journal keeps them); returns how many."""
        with self._cond:
            count = len(self._items)
            self._items.clear()
            return count

    def close(self) -> None:
        """Wake every long poll and close the journal."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            if self._file is not None:
                self._file.close()
                self._file = None

    def metrics(self) -> str:
        lines = ["# HELP alertdrill_sink_notifications_total Webhook notifications received.",
                 "# TYPE alertdrill_sink_notifications_total counter"]
        with self._cond:
            for (receiver, status), count in sorted(self.counts.items()):
                lines.append(f'alertdrill_sink_notifications_total{{receiver="{_esc(receiver)}",'
                             f'status="{_esc(status)}"}} {count}')
            lines += ["# HELP alertdrill_sink_last_notification_timestamp_seconds Receive time of the last one.",
                      "# TYPE alertdrill_sink_last_notification_timestamp_seconds gauge",
                      f"alertdrill_sink_last_notification_timestamp_seconds {self.last_received:.3f}"]
        return "\n".join(lines) + "\n"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _last_seq(journal: Path) -> int:
    """Continue numbering after a restart on the same journal, so seqs stay unique in it."""
    if not journal.exists():
        return 0
    last = 0
    with journal.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                last = max(last, int(json.loads(line)["seq"]))
            except (ValueError, KeyError, TypeError):
                continue
    return last


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms to a
    # keep-alive long poll, which is most of the delivery-detection budget.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self._send(400 if length <= 0 else 413, {"error": f"body length {length} not in 1..{MAX_BODY}"})
            if length > MAX_BODY:
                self.close_connection = True
            return
        raw = self.rfile.read(length)
        receiver = unquote(urlsplit(self.path).path.strip("/"))
        try:
            note = self.server.store.add(json.loads(raw), receiver)
        except ValueError as exc:
            self._send(400, {"error": f"not an Alertmanager webhook payload: {exc}"})
            return
        log.info("notification %d: %s %s to %s (%s)", note.seq, note.status,
                 ",".join(sorted({a.name for a in note.alerts})), note.receiver, len(note.alerts))
        self._send(200, {"seq": note.seq})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path in ("/-/ready", "/-/healthy"):
            self._send(200, "ok\n", "text/plain")
        elif url.path == "/metrics":
            self._send(200, self.server.store.metrics(), "text/plain; version=0.0.4")
        elif url.path == "/notifications":
            query = parse_qs(url.query)
            try:
                since = int(query.get("since", ["0"])[0])
                wait = float(query.get("wait", ["0"])[0])
                if since < 0 or not 0 <= wait < float("inf"):
                    raise ValueError
            except ValueError:
                self._send(400, {"error": "since must be an integer >= 0 and wait a number of seconds >= 0"})
                return
            nxt, found = self.server.store.since(since, min(wait, MAX_WAIT))
            self._send(200, {"next": nxt, "notifications": [n.to_dict() for n in found]})
        else:
            self._send(404, {"error": f"no such endpoint {url.path}; POST /<receiver> or GET /notifications"})

    def do_DELETE(self) -> None:
        if urlsplit(self.path).path != "/notifications":
            self._send(404, {"error": "only DELETE /notifications is supported"})
            return
        self._send(200, {"cleared": self.server.store.clear()})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    store: NotificationStore

    def handle_error(self, request: object, client_address: object) -> None:
        """A sender that hung up before the answer (a timed-out poll) is not an error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


def check_loopback(host: str) -> None:
    """Refuse anything but a loopback address: the sink accepts any POST without authentication."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(f"the notification sink only listens on loopback (127.0.0.1, ::1); got host {host!r}")


class NotificationSink:
    """The sink server, in-process: ``with NotificationSink(port=0) as sink: sink.url``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, journal: str | Path | None = None,
                 allow_non_loopback: bool = False) -> None:
        if allow_non_loopback:
            logging.getLogger(__name__).warning(
                "listening on %s: anyone who reaches it can post notifications (only inside a container network)",
                host)
        else:
            check_loopback(host)
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"sink port {port!r} must be an integer 0..65535 (0 picks a free port)")
        self.host = host
        self.requested_port = port
        self.store = NotificationStore(Path(journal) if journal else None)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise ObservationError("the notification sink is not started; use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> NotificationSink:
        """Bind and serve in a daemon thread; ready when this returns."""
        server_cls = _Server6 if ":" in self.host else _Server
        try:
            self._server = server_cls((self.host, self.requested_port), _Handler)
        except OSError as exc:
            self.store.close()
            raise ObservationError(
                f"notification sink cannot listen on {self.host}:{self.requested_port} ({exc.strerror or exc}); "
                "pick a free port or 0") from exc
        self._server.store = self.store
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"alertdrill-sink-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake long polls, stop serving, close the socket and the journal. Idempotent."""
        self.store.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> NotificationSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def notifications(self, since: int = 0) -> list[Notification]:
        """What the sink holds now with seq >= ``since``."""
        return self.store.since(since, 0.0)[1]

    def clear(self) -> int:
        return self.store.clear()

    def client(self, **kwargs: Any) -> SinkClient:
        """An HTTP client for this sink (what a separate process would use)."""
        return SinkClient(self.url, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """Run the sink until SIGTERM/SIGINT; prints one 'listening on URL' line when ready."""
    parser = argparse.ArgumentParser(prog="python -m alertdrill.assertions.sink", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: pick a free one)")
    parser.add_argument("--journal", type=Path, help="append every notification to this JSON-lines file")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--allow-non-loopback", action="store_true",
                        help="bind a non-loopback host, e.g. 0.0.0.0 inside a container (docker-compose)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(asctime)s sink %(levelname)s %(message)s")
    stop = threading.Event()
    try:
        sink = NotificationSink(host=args.host, port=args.port, journal=args.journal,
                                allow_non_loopback=args.allow_non_loopback).start()
    except (ConfigError, ObservationError) as exc:
        print(f"sink: {exc}", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"alertdrill sink listening on {sink.url} journal={args.journal or '-'}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
