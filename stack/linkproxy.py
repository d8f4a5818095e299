"""A TCP proxy between the API and one of its dependencies, so the network itself can fail.

The native stack routes the API's Postgres and Redis connections through one of these each (the
exporters connect directly, as they would from another host). A control file in the run directory,
re-read at most every 100 ms, sets the link's condition:

    {"latency_ms": 200}   every chunk is held this long in each direction
    {"cut": true}         open connections are closed and new ones are accepted and closed at once

No file (or ``{}``) is a healthy link. Run as ``python -m alertdrill.stack.linkproxy --listen
127.0.0.1:P --upstream 127.0.0.1:Q --control FILE``; loopback addresses only, unless
``--allow-non-loopback`` is given: inside a container (docker-compose.yml) the proxy must listen on the
container's interface (0.0.0.0) and reach its dependency by service name (postgres:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from alertdrill.stack.ports import is_loopback

__all__ = ["LinkCondition", "Options", "main", "parse_args", "read_condition"]

CHECK_INTERVAL = 0.1
CHUNK = 65536


@dataclass(frozen=True)
class LinkCondition:
    latency_ms: float = 0.0
    cut: bool = False


def read_condition(path: Path) -> LinkCondition:
    """The condition in ``path``; a missing, empty or invalid file is a healthy link."""
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return LinkCondition()
    if not isinstance(data, dict):
        return LinkCondition()
    latency = data.get("latency_ms", 0)
    return LinkCondition(latency_ms=float(latency) if isinstance(latency, int | float) else 0.0,
                         cut=data.get("cut") is True)


class Link:
    """Accepts on ``listen``, forwards to ``upstream``, applies the control file's condition."""

    def __init__(self, upstream: tuple[str, int], control: Path) -> None:
        self.upstream = upstream
        self.control = control
        self.condition = LinkCondition()
        self._checked = 0.0
        self._mtime: float | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def refresh(self) -> LinkCondition:
        now = time.monotonic()
        if now - self._checked >= CHECK_INTERVAL:
            self._checked = now
            try:
                mtime = self.control.stat().st_mtime
            except OSError:
                mtime = None
            if mtime != self._mtime:
                self._mtime = mtime
                self.condition = read_condition(self.control) if mtime is not None else LinkCondition()
        return self.condition

    async def watch(self) -> None:
        """Close every open connection as soon as the link is cut."""
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            if self.refresh().cut:
                for writer in list(self._writers):
                    writer.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refresh().cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.upstream), timeout=5)
        except (OSError, TimeoutError):
            writer.close()
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while data := await reader.read(CHUNK):
                condition = self.refresh()
                if condition.cut:
                    break
                if condition.latency_ms > 0:
                    await asyncio.sleep(condition.latency_ms / 1000)
                writer.write(data)
                await writer.drain()
        writer.close()


def _address(text: str, what: str, *, allow_non_loopback: bool = False) -> tuple[str, int]:
    """``HOST:PORT`` as (host, port); the host must be loopback unless ``allow_non_loopback``."""
    host, _, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        example = "postgres:5432" if allow_non_loopback else "127.0.0.1:6379"
        raise SystemExit(f"linkproxy: {what} {text!r} must be HOST:PORT with a port 1..65535, e.g. {example}")
    if not allow_non_loopback and not is_loopback(host):
        raise SystemExit(f"linkproxy: {what} {text!r} must be a loopback HOST:PORT, e.g. 127.0.0.1:6379 "
                         "(inside a container network only: add --allow-non-loopback)")
    return host, int(port)


@dataclass(frozen=True)
class Options:
    """The command line, checked: where to accept, where to forward, which control file."""

    listen: tuple[str, int]
    upstream: tuple[str, int]
    control: Path
    allow_non_loopback: bool = False


def parse_args(argv: list[str] | None = None) -> Options:
    """Parse and check the command line; SystemExit with one line for an address it must refuse."""
    parser = argparse.ArgumentParser(prog="python -m alertdrill.stack.linkproxy", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT to accept on (loopback unless allowed)")
    parser.add_argument("--upstream", required=True, help="HOST:PORT to forward to (loopback unless allowed)")
    parser.add_argument("--control", required=True, type=Path, help="JSON file with the link's condition")
    parser.add_argument("--allow-non-loopback", action="store_true",
                        help="accept on a non-loopback address (e.g. 0.0.0.0) and forward to a host name "
                             "(e.g. postgres:5432): only inside a container network (docker-compose)")
    args = parser.parse_args(argv)
    allow = args.allow_non_loopback
    return Options(listen=_address(args.listen, "listen address", allow_non_loopback=allow),
                   upstream=_address(args.upstream, "upstream", allow_non_loopback=allow),
                   control=args.control, allow_non_loopback=allow)


async def _serve(listen: tuple[str, int], link: Link) -> None:
    server = await asyncio.start_server(link.handle, *listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(link.watch())
    print(f"linkproxy {listen[0]}:{listen[1]} -> {link.upstream[0]}:{link.upstream[1]} control={link.control}",
          flush=True)
    async with server:
        await stop.wait()
    watcher.cancel()


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if options.allow_non_loopback and not is_loopback(options.listen[0]):
        print(f"linkproxy: listening on {options.listen[0]}: anyone who reaches it reaches "
              f"{options.upstream[0]}:{options.upstream[1]} (only inside a container network)", file=sys.stderr,
              flush=True)
    asyncio.run(_serve(options.listen, Link(options.upstream, options.control)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
