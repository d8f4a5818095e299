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

from alertdrill.errors import ConfigError, FaultInjectError

from .backend import Backend
from .base import DEFAULT_MAX_DURATION, check_number
from .redisbase import RedisFault
from .registry import register

__all__ = ["EVICTION_POLICIES", "RedisMemoryFill"]

EVICTION_POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
                     "volatile-random", "volatile-ttl")
FILL_TIMEOUT = 60.0
BATCH = 16


@register
class RedisMemoryFill(RedisFault):
    """used_memory >= ``fraction`` x maxmemory; with ``policy`` other than noeviction Redis evicts."""

    kind = "redis-memory-fill"

    def __init__(self, *, backend: Backend, fraction: float = 0.95, policy: str = "noeviction",
                 value_bytes: int = 16 * 1024, url: str | None = None,
                 max_duration: float = DEFAULT_MAX_DURATION) -> None:
        check_number("fraction", fraction, low=0, high=1, low_inclusive=False)
        check_number("value_bytes", value_bytes, low=64, high=1024 * 1024, integer=True)
        if policy not in EVICTION_POLICIES:
            raise ConfigError(f"policy must be one of {', '.join(EVICTION_POLICIES)}, got {policy!r}")
        super().__init__(backend=backend, url=url, max_duration=max_duration)
        self.fraction = float(fraction)
        self.policy = policy
        self.value_bytes = value_bytes
        self._written = 0

    @property
    def evicting(self) -> bool:
        return self.policy != "noeviction"

    def params(self) -> dict[str, Any]:
        return {**super().params(), "fraction": self.fraction, "policy": self.policy, "value_bytes": self.value_bytes}

    def _read_original(self) -> dict[str, Any]:
        with self.client() as client:
            return {"maxmemory": self.config(client, "maxmemory"),
                    "maxmemory-policy": self.config(client, "maxmemory-policy")}

    def _goal(self) -> int:
        """Bytes of used_memory that prove() requires."""
        maxmemory = int(self.original["maxmemory"])
        goal = self.fraction * maxmemory
        if self.evicting:  # eviction keeps used_memory just under maxmemory
            goal = min(goal, 0.97 * maxmemory)
        return math.ceil(goal)

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

    def _fill(self, client: redis.Redis, maxmemory: int) -> None:
        """Write batches until the goal (bounded by count and time)."""
        goal = min(self._goal() + 2 * self.value_bytes, maxmemory)
        value = b"x" * self.value_bytes
        deadline = time.monotonic() + FILL_TIMEOUT
        max_keys = math.ceil(2 * maxmemory / self.value_bytes) + 1000
        ttl = self.ttl_s()
        while self._written < max_keys:
            used = self.info_int(client, "memory", "used_memory")
            if used >= goal or (self.evicting and self._evicted(client) > 0 and used >= self._goal()):
                return
            if time.monotonic() > deadline:
                break
            pipe = client.pipeline(transaction=False)
            for i in range(BATCH):
                pipe.set(f"{self.key_prefix}{self._written + i}", value, ex=ttl)
            try:
                pipe.execute()
            except redis.ResponseError as exc:
                if "OOM" in str(exc) and not self.evicting:
                    self.resources["write_refused"] = str(exc)
                    return  # noeviction at the limit: exactly what the fault wants
                raise
            self._written += BATCH
        raise FaultInjectError(
            f"used_memory reached only {self.info_int(client, 'memory', 'used_memory')} bytes of the "
            f"{self._goal()} wanted after writing {self._written} keys"
        )

    def _evicted(self, client: redis.Redis) -> int:
        return self.info_int(client, "stats", "evicted_keys") - int(self.resources.get("evicted_before", 0))

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.client() as client:
            used = self.info_int(client, "memory", "used_memory")
            maxmemory = int(self.config(client, "maxmemory"))
            policy = self.config(client, "maxmemory-policy")
            evicted = self._evicted(client)
            refused = None
            if not self.evicting and used >= maxmemory:
                try:
                    client.set(f"{self.key_prefix}probe", b"x" * self.value_bytes, ex=self.ttl_s())
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
        if self.evicting and evicted <= 0:
            raise self.not_in_effect(f"no key was evicted under {self.policy}", **facts)
        extra = f", writes refused: {refused}" if refused else ""
        extra += f", {evicted} keys evicted" if self.evicting else ""
        return f"used_memory {used} = {used / maxmemory:.1%} of maxmemory ({policy}){extra}", facts

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
