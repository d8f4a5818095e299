"""Fill Redis memory to a fraction of maxmemory, under noeviction (writes fail) or an eviction policy.

The fill writes values under the fault's key prefix, each with a TTL just past the max duration, so
the memory comes back on its own even if nobody reverts. maxmemory and maxmemory-policy are read
first, kept in the journal entry, and set back to exactly those values on revert.
"""

from __future__ import annotations

import math
import time
from typing import Any

import redis

from alertdrill.errors import FaultInjectError

from .base import Magnitude
from .params import Param
from .redisbase import RedisFault

__all__ = ["EVICTION_POLICIES", "RedisMemoryFill"]

EVICTION_POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
                     "volatile-random", "volatile-ttl")
FILL_TIMEOUT = 60.0
BATCH = 16
PROBE_BYTES = 64 * 1024


class RedisMemoryFill(RedisFault):
    """used_memory >= ``fraction`` x maxmemory; with ``policy`` other than noeviction Redis evicts."""

    builds_up = True

    kind = "redis-memory-fill"

    parameters = {
        "fraction": Param(float, 0.95, low=0, high=1, low_inclusive=False, help="used_memory / maxmemory to reach"),
        "policy": Param(str, "noeviction", choices=EVICTION_POLICIES, help="maxmemory-policy while full"),
        "value_bytes": Param(int, 16 * 1024, low=64, high=1024 * 1024, help="size of each value written"),
    }
    fraction: float
    policy: str
    value_bytes: int
    magnitude_metric = "redis_memory_used_bytes"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._written = 0

    @property
    def evicting(self) -> bool:
        return self.policy != "noeviction"

    def _read_original(self) -> dict[str, Any]:
        with self.client() as client:
            return {"maxmemory": self.config(client, "maxmemory"),
                    "maxmemory-policy": self.config(client, "maxmemory-policy")}

    def _goal(self) -> int:
        """Bytes of used_memory that prove() requires."""
        maxmemory = int(self.original["maxmemory"])
        if self.fraction < 1.0:
            return math.ceil(self.fraction * maxmemory)
        # Full: Redis refuses (or evicts) as soon as a command's own buffer would cross the limit, so
        # used_memory settles just below it; the refused write (or the evictions) is the proof then.
        return math.ceil((0.97 if self.evicting else 0.99) * maxmemory)

    def _inject(self) -> None:
        maxmemory = int(self.original["maxmemory"])
        if maxmemory <= 0:
            raise FaultInjectError("maxmemory is 0 (unlimited): a fraction of it means nothing; set maxmemory first")
        with self.client() as client:
            if self.config(client, "maxmemory-policy") != self.policy:
                client.config_set("maxmemory-policy", self.policy)
            self.resources["evicted_before"] = self.info_int(client, "stats", "evicted_keys")
            self.resources["key_prefix"] = self.key_prefix
            self._fill(client, maxmemory)

    @property
    def _full(self) -> bool:
        """Filling to 100% under noeviction: done only when Redis refuses writes."""
        return not self.evicting and self.fraction >= 1.0

    def _fill(self, client: redis.Redis, maxmemory: int) -> None:
        """Write until the goal, in phases of shrinking writes (bounded by count and time).

        A pipelined batch sits in the client's query buffer, which counts in used_memory until the
        client goes away, so each phase measures from a fresh connection. A full fill ends with 1 kB
        values, so the slack that clients leave when they disconnect stays a few kB.
        """
        deadline = time.monotonic() + FILL_TIMEOUT
        max_keys = math.ceil(4 * maxmemory / 1024) + 1000
        margin = (BATCH + 2) * self.value_bytes
        phases = [(BATCH, self.value_bytes, min(self._goal() + margin, maxmemory)),
                  (1, self.value_bytes, self._goal() + 2 * self.value_bytes)]
        if self._full:
            phases.append((1, 1024, maxmemory))
        outcome = "bounds"
        for batch, size, goal in phases:
            with self.client() as writer:
                outcome = self._write_until(writer, batch, size, goal, max_keys, deadline)
            if outcome == "bounds":
                break
        if self._full and outcome == "refused":
            return
        if not self._full and self._done(client, self._goal()):
            return
        raise FaultInjectError(
            f"used_memory reached only {self.info_int(client, 'memory', 'used_memory')} bytes of the "
            f"{self._goal()} wanted after writing {self._written} keys ({outcome})"
        )

    def _write_until(self, writer: redis.Redis, batch: int, size: int, goal: int, max_keys: int,
                     deadline: float) -> str:
        """'goal' reached, write 'refused' by noeviction, or out of 'bounds'."""
        value = b"x" * size
        while self._written < max_keys and time.monotonic() < deadline:
            if not self._full and self._done(writer, goal):
                return "goal"
            pipe = writer.pipeline(transaction=False)
            for i in range(batch):
                pipe.set(f"{self.key_prefix}{self._written + i}", value, ex=self.ttl_s())
            try:
                pipe.execute()
            except redis.ResponseError as exc:
                if self.evicting or not _is_oom(exc):
                    raise
                self.resources["write_refused"] = str(exc)
                return "refused"
            self._written += batch
        return "bounds"

    def _done(self, client: redis.Redis, goal: int) -> bool:
        used = self.info_int(client, "memory", "used_memory")
        if self._wants_eviction:
            return self._evicted(client) > 0 and used >= self._goal()
        return used >= goal

    @property
    def _wants_eviction(self) -> bool:
        """Filling to 100% under an eviction policy means: until Redis evicts."""
        return self.evicting and self.fraction >= 1.0

    def _evicted(self, client: redis.Redis) -> int:
        return self.info_int(client, "stats", "evicted_keys") - int(self.resources.get("evicted_before", 0))

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.client() as client:
            used = self.info_int(client, "memory", "used_memory")
            maxmemory = int(self.config(client, "maxmemory"))
            policy = self.config(client, "maxmemory-policy")
            evicted = self._evicted(client)
            refused = None
            if self._full:  # larger than the few kB that clients free when they disconnect
                try:
                    client.set(f"{self.key_prefix}probe", b"x" * PROBE_BYTES, ex=self.ttl_s())
                except redis.ResponseError as exc:
                    refused = str(exc)
        ratio = round(used / maxmemory, 4) if maxmemory else None
        facts = {"used_memory": used, "maxmemory": maxmemory, "ratio": ratio,
                 "required_used_memory": self._goal(), "policy": policy, "keys_written": self._written,
                 "evicted_keys_since_start": evicted, "write_refused": refused}
        if policy != self.policy:
            raise self.not_in_effect(f"maxmemory-policy is {policy}, not {self.policy}", **facts)
        if used < self._goal():
            raise self.not_in_effect(f"used_memory {used} is below {self._goal()} ({self.fraction:.0%} of "
                                     f"{maxmemory})", **facts)
        if self._full and refused is None:
            raise self.not_in_effect("a write was accepted although the fault fills maxmemory completely", **facts)
        if self._wants_eviction and evicted <= 0:
            raise self.not_in_effect(f"no key was evicted under {self.policy}", **facts)
        extra = f", writes refused: {refused}" if refused else ""
        extra += f", {evicted} keys evicted" if self._wants_eviction else ""
        return f"used_memory {used} = {used / maxmemory:.1%} of maxmemory ({policy}){extra}", facts

    def _magnitudes(self, facts: dict[str, Any]) -> list[Magnitude]:
        return [Magnitude("used_memory / maxmemory", facts["ratio"] or 0.0, need) for need in self.needs]

    def _revert_more(self) -> list[str]:
        lines = []
        with self.client() as client:
            deleted = self.delete_our_keys(client)
            lines.append(f"deleted {deleted} keys")
            for name in ("maxmemory-policy", "maxmemory"):
                original = self.original.get(name)
                if original is not None and self.config(client, name) != original:
                    client.config_set(name, original)
                    lines.append(f"{name} restored to {original}")
        return lines


def _is_oom(exc: redis.ResponseError) -> bool:
    """noeviction refused a write (redis-py >= 5 raises OutOfMemoryError, older ones a plain OOM error)."""
    return isinstance(exc, getattr(redis.exceptions, "OutOfMemoryError", ())) or "OOM" in str(exc) \
        or "maxmemory" in str(exc)
