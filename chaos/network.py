"""Network faults between the API and one of its dependencies: added latency, or a cut link.

The native stack routes the API's Postgres and Redis connections through a link proxy
(stack/linkproxy.py) whose control file this fault writes; the exporters connect directly, so a
cut link looks to monitoring exactly like a network partition between the API and its dependency:
the dependency is healthy, the API has lost it. Evidence is measured on the wire: a connection
through the link is closed at once (cut) or answers a protocol ping no sooner than the added latency,
while a direct connection to the dependency still answers.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from pathlib import Path
from typing import Any

from alertdrill.errors import ConfigError
from alertdrill.stack.components import LINKS, link_control
from alertdrill.stack.linkproxy import CHECK_INTERVAL
from alertdrill.stack.ports import LOOPBACK

from .base import Fault, poll
from .params import Param

__all__ = ["NetworkCut", "NetworkFault", "NetworkLatency"]

DEPENDENCIES = tuple(sorted(LINKS.values()))
PING_TIMEOUT = 5.0
#: The cheapest request each protocol answers: Redis' inline PING, Postgres' SSLRequest (answered 'N'
#: or 'S' in one byte, before any authentication).
_PINGS = {"redis": (b"PING\r\n", b"+PONG"), "postgres": (struct.pack("!ii", 8, 80877103), b"")}


def ping(port: int, dependency: str, timeout: float = PING_TIMEOUT) -> tuple[bool, float]:
    """(answered, seconds) for one protocol ping to ``dependency`` on loopback ``port``."""
    request, expected = _PINGS[dependency]
    began = time.monotonic()
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
            sock.sendall(request)
            reply = sock.recv(64)
    except OSError:
        return False, time.monotonic() - began
    answered = bool(reply) and reply.startswith(expected)
    return answered, time.monotonic() - began


class NetworkFault(Fault):
    """Writes the condition of the link between the API and ``dependency``; restores it on revert."""

    needs_local_stack = "it needs the link proxy between the API and its dependency, which alertdrill's stack runs"

    parameters = {"dependency": Param(str, choices=DEPENDENCIES, help="the dependency whose link from the API fails")}
    dependency: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = link_control(Path(self.info.run_dir), self.dependency)
        link = f"{self.dependency}_link"
        if link not in self.info.ports:
            raise ConfigError(f"stack {self.info.name!r} has no {link}; start it with this version of alertdrill")
        self.link_port = int(self.info.ports[link])
        self.direct_port = int(self.info.ports[self.dependency])

    def condition(self) -> dict[str, Any]:
        raise NotImplementedError

    def target(self) -> dict[str, Any]:
        return {"stack": self.info.name, "link": f"app -> {self.dependency}", "control": self.path.name}

    def _read_original(self) -> dict[str, Any]:
        try:
            return {"condition": self.path.read_text()}
        except FileNotFoundError:
            return {"condition": None}

    def _write(self, text: str | None) -> None:
        if text is None:
            self.path.unlink(missing_ok=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(text)
            tmp.replace(self.path)
        written = time.monotonic()  # the proxy re-reads its control file at most every CHECK_INTERVAL
        poll(lambda: time.monotonic() - written > CHECK_INTERVAL * 2, timeout=5.0, interval=0.02,
             what="the link proxy's check interval passing")

    def _inject(self) -> None:
        self._write(json.dumps(self.condition()))

    def _revert(self) -> str:
        original = self.original.get("condition")
        self._write(original)
        return f"link app -> {self.dependency} restored ({'healthy' if original is None else original})"

    def _direct_facts(self) -> dict[str, Any]:
        answered, seconds = ping(self.direct_port, self.dependency)
        return {"direct_answers": answered, "direct_seconds": round(seconds, 4)}


class NetworkCut(NetworkFault):
    """The API's connections to ``dependency`` are closed and new ones refused; the dependency itself is up."""

    kind = "network-cut"

    def condition(self) -> dict[str, Any]:
        return {"cut": True}

    def _prove(self) -> tuple[str, dict[str, Any]]:
        through, seconds = ping(self.link_port, self.dependency, timeout=2.0)
        facts = {"through_link_answers": through, "through_link_seconds": round(seconds, 4), **self._direct_facts()}
        if through:
            raise self.not_in_effect(f"a ping through the link to {self.dependency} was answered", **facts)
        if not facts["direct_answers"]:
            raise self.not_in_effect(f"{self.dependency} itself does not answer: that is an outage, not a cut link",
                                     **facts)
        return f"the API's link to {self.dependency} is cut; {self.dependency} itself answers", facts


class NetworkLatency(NetworkFault):
    """Every chunk between the API and ``dependency`` is held ``latency_ms`` in each direction."""

    kind = "network-latency"

    parameters = {"latency_ms": Param(float, 200.0, low=1, high=10_000, help="held in each direction")}
    latency_ms: float

    def condition(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms}

    def _prove(self) -> tuple[str, dict[str, Any]]:
        through, seconds = ping(self.link_port, self.dependency, timeout=PING_TIMEOUT + 2 * self.latency_ms / 1000)
        facts = {"through_link_answers": through, "through_link_seconds": round(seconds, 4),
                 "latency_ms": self.latency_ms, **self._direct_facts()}
        if not through:
            raise self.not_in_effect(f"a ping through the link to {self.dependency} was not answered", **facts)
        if seconds * 1000 < self.latency_ms:
            raise self.not_in_effect(f"a ping through the link took {seconds * 1000:.0f} ms, less than the added "
                                     f"{self.latency_ms:.0f} ms", **facts)
        return (f"a ping to {self.dependency} through the API's link takes {seconds * 1000:.0f} ms "
                f"(direct: {facts['direct_seconds'] * 1000:.1f} ms)"), facts
