"""Client faults on Redis: a flood of connections, the app's connections drained, maxclients
reached, and clients blocked in BLPOP.

Evidence comes from Redis itself: CLIENT LIST (who is connected, who is blocked), INFO clients and
INFO stats (rejected_connections). Blocked clients wait with a BLPOP timeout of the max duration,
so Redis releases them on its own if nobody reverts.
"""

from __future__ import annotations

import math
import socket
from typing import Any

import redis

from alertdrill.errors import FaultInjectError

from .backend import stack_is_running
from .base import Magnitude, poll
from .params import Param
from .redisbase import RedisFault

__all__ = ["RedisBlockedClients", "RedisClientDrain", "RedisClientFlood", "RedisMaxClients"]

SETTLE_TIMEOUT = 15.0


class RedisClientFlood(RedisFault):
    """``clients`` idle connections held open (RedisTooManyConnections is > 100 clients)."""

    builds_up = True

    kind = "redis-client-flood"

    parameters = {"clients": Param(int, 120, low=1, high=5000, help="extra client connections held open")}
    clients: int
    magnitude_metric = "redis_connected_clients"

    def _inject(self) -> None:
        with self.client() as client:
            maxclients = int(self.config(client, "maxclients"))
            connected = self.info_int(client, "clients", "connected_clients")
        if connected + self.clients > maxclients - 10:
            raise FaultInjectError(f"{self.clients} more clients would exceed maxclients {maxclients} "
                                   f"({connected} connected); use fewer")
        for _ in range(self.clients):  # bounded by the validated count
            self.open_connection()

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.client() as client:
            held = len(self.our_clients(client))
            connected = self.info_int(client, "clients", "connected_clients") - 1  # not this probe
        facts = {"held": held, "expected": self.clients, "connected_clients": connected}
        if held < self.clients:
            raise self.not_in_effect(f"only {held} of {self.clients} connections are held", **facts)
        return f"{held} connections held; {connected} clients connected in total", facts

    def _magnitudes(self, facts: dict[str, Any]) -> list[Magnitude]:
        return [Magnitude("clients connected to Redis", facts["connected_clients"], need) for need in self.needs]


class RedisClientDrain(RedisFault):
    """The application loses its Redis connections: the app component is stopped through the backend.

    RedisNotEnoughConnections fires below 5 clients; the app keeps 3 per worker, so only losing the
    app drains Redis for real. Revert starts the app again and waits for its connections.
    """

    kind = "redis-client-drain"
    needs_local_stack = "it drains Redis's clients by stopping the API (which holds the pool): process control"
    component = "app"

    parameters = {"below": Param(int, 5, low=1, high=10_000, help="connected clients prove() requires below")}
    below: int

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard.component(self.component)

    def target(self) -> dict[str, Any]:
        return {**super().target(), "component": self.component}

    def _check_targets(self) -> None:
        proc = self.backend.process(self.component)
        if not proc.is_alive():
            raise FaultInjectError(f"the {self.component} is not running, so it holds no connections to drain")
        self.guard.owned(proc, self.component)

    def _others(self) -> list[dict[str, Any]]:
        with self.client() as client:
            me = client.client_id()
            return [c for c in client.client_list() if int(c["id"]) != me]

    def _inject(self) -> None:
        self.backend.stop_component(self.component)
        poll(lambda: len(self._others()) < self.below, timeout=SETTLE_TIMEOUT, interval=0.1,
             what=f"fewer than {self.below} Redis clients after stopping the {self.component}")

    def _prove(self) -> tuple[str, dict[str, Any]]:
        others = self._others()
        alive = self.backend.process(self.component).is_alive()
        facts = {"clients": len(others), "below": self.below, "app_running": alive,
                 "client_names": sorted(c.get("name") or "(unnamed)" for c in others)}
        if alive:
            raise self.not_in_effect(f"the {self.component} runs again", **facts)
        if len(others) >= self.below:
            raise self.not_in_effect(f"{len(others)} clients remain, not fewer than {self.below}", **facts)
        return f"{len(others)} Redis clients remain (< {self.below}); the {self.component} is stopped", facts

    def _revert(self) -> str:
        proc = self.backend.process(self.component)
        if proc.is_alive():
            return f"the {self.component} already runs (pid {proc.pid})"
        if not stack_is_running(self.backend):
            return f"left the {self.component} stopped: the rest of the stack is not running either"
        new = self.backend.start_component(self.component)
        poll(lambda: len(self._others()) >= self.below, timeout=SETTLE_TIMEOUT, interval=0.1,
             what=f"the {self.component} reconnecting to Redis ({self.below}+ clients)")
        return f"started the {self.component} again (pid {new.pid}); {len(self._others())} Redis clients"


class RedisMaxClients(RedisFault):
    """maxclients lowered to the current client count, ``attempts`` connections refused, restored at once.

    redis_exporter opens a new connection per scrape, so maxclients is set back inside inject (in a
    ``finally``) within milliseconds; what stays is the rise of INFO stats rejected_connections, which
    RedisRejectedConnections alerts on.
    """

    kind = "redis-maxclients"

    parameters = {"attempts": Param(int, 5, low=1, high=1000, help="connections attempted past maxclients")}
    attempts: int

    def _read_original(self) -> dict[str, Any]:
        with self.client() as client:
            return {"maxclients": self.config(client, "maxclients")}

    def _attempt(self) -> bool:
        """One connection attempt; True when Redis refused it (max number of clients reached)."""
        with socket.create_connection((self.host, self.port), timeout=2.0) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(256)
        return b"max number of clients" in reply

    def _inject(self) -> None:
        with self.client() as client:
            self.resources["rejected_before"] = self.info_int(client, "stats", "rejected_connections")
            current = self.info_int(client, "clients", "connected_clients")
            refused = tries = 0
            try:
                client.config_set("maxclients", current)
                while refused < self.attempts and tries < self.attempts * 3:  # bounded
                    tries += 1
                    refused += self._attempt()
            finally:
                client.config_set("maxclients", self.original["maxclients"])
        self.resources.update(refused=refused, tries=tries, lowered_to=current)
        if refused == 0:
            raise FaultInjectError(f"no connection was refused in {tries} attempts with maxclients {current}")

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.client() as client:
            rejected = self.info_int(client, "stats", "rejected_connections")
            maxclients = self.config(client, "maxclients")
        before = int(self.resources["rejected_before"])
        facts = {"refused": self.resources["refused"], "attempts": self.resources["tries"],
                 "maxclients_during_fault": self.resources["lowered_to"], "maxclients_now": maxclients,
                 "rejected_connections_before": before, "rejected_connections_now": rejected}
        if rejected - before < self.resources["refused"]:
            raise self.not_in_effect(f"rejected_connections grew by {rejected - before}, expected "
                                     f"{self.resources['refused']}", **facts)
        return (f"Redis refused {self.resources['refused']} connections (rejected_connections {before} -> "
                f"{rejected}); maxclients back at {maxclients}", facts)

    def _revert_more(self) -> list[str]:
        original = self.original.get("maxclients")
        with self.client() as client:
            if original is not None and self.config(client, "maxclients") != original:
                client.config_set("maxclients", original)
                return [f"maxclients restored to {original}"]
        return [f"maxclients is {original}"]


class RedisBlockedClients(RedisFault):
    """``clients`` connections blocked in BLPOP on an empty list of the fault's own."""

    kind = "redis-blocked-clients"

    parameters = {"clients": Param(int, 3, low=1, high=1000, help="clients blocked in BLPOP")}
    clients: int

    def _key(self) -> str:
        return f"{self.key_prefix}blocked"

    def _inject(self) -> None:
        timeout = math.ceil(self.max_duration)
        for _ in range(self.clients):
            conn = self.open_connection(socket_timeout=None)
            conn.send_command("BLPOP", self._key(), timeout)
        with self.client() as client:
            poll(lambda: len(self._blocked(client)) >= self.clients, timeout=SETTLE_TIMEOUT,
                 what=f"{self.clients} clients blocked in BLPOP")

    def _blocked(self, client: redis.Redis) -> list[dict[str, Any]]:
        return [c for c in self.our_clients(client) if "b" in c.get("flags", "") and c.get("cmd") == "blpop"]

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.client() as client:
            blocked = self._blocked(client)
            total = self.info_int(client, "clients", "blocked_clients")
        facts = {"blocked_by_fault": len(blocked), "expected": self.clients, "blocked_clients": total,
                 "key": self._key(), "ids": [int(c["id"]) for c in blocked]}
        if len(blocked) < self.clients:
            raise self.not_in_effect(f"only {len(blocked)} of {self.clients} clients are blocked", **facts)
        return f"{len(blocked)} clients blocked in BLPOP {self._key()} (blocked_clients = {total})", facts
