"""Slow commands on Redis: a Lua script that busy-waits, so the single-threaded server stalls.

DEBUG SLEEP would be simpler, but Redis 7 disables DEBUG by default. The script reads TIME in a loop
until the asked duration passed; the duration stays below Redis' busy-script threshold (5 s), so
other clients get delayed answers, never BUSY errors, and nothing needs SCRIPT KILL. Evidence is
SLOWLOG: the entries of the fault's own client, with their durations.
"""

from __future__ import annotations

from typing import Any

from alertdrill.errors import FaultInjectError

from .params import Param
from .redisbase import RedisFault

__all__ = ["RedisSlowCommands"]

_BUSY_WAIT = """
local t0 = redis.call('TIME')
local start = tonumber(t0[1]) * 1000000 + tonumber(t0[2])
local limit = tonumber(ARGV[1]) * 1000
local spins = 0
repeat
  spins = spins + 1
  local t = redis.call('TIME')
until (tonumber(t[1]) * 1000000 + tonumber(t[2])) - start >= limit
return spins
"""


class RedisSlowCommands(RedisFault):
    """``count`` commands that each block Redis for ``duration_ms``."""

    kind = "redis-slow-commands"

    parameters = {"count": Param(int, 3, low=1, high=100, help="slow commands to run"),
                  "duration_ms": Param(int, 250, low=11, high=4000, help="how long each one takes")}
    count: int
    duration_ms: int

    def _inject(self) -> None:
        with self.client() as client:
            threshold = int(self.config(client, "slowlog-log-slower-than"))
            self.resources["slowlog_threshold_us"] = threshold
            if not 0 <= threshold < self.duration_ms * 1000:
                raise FaultInjectError(f"slowlog-log-slower-than is {threshold} us, so SLOWLOG would not show "
                                       f"{self.duration_ms} ms commands; use a longer duration_ms")
            for _ in range(self.count):  # bounded: count x duration_ms <= 400 s, each below 5 s
                client.eval(_BUSY_WAIT, 0, self.duration_ms)

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.client() as client:
            entries = client.slowlog_get(128)
        ours = [e for e in entries if _name(e) == self.application_name
                and e.get("duration", 0) >= self.duration_ms * 1000 * 0.9]
        durations = [round(e["duration"] / 1000.0, 1) for e in ours]
        facts = {"slow_commands": len(ours), "expected": self.count, "durations_ms": durations,
                 "slowlog_log_slower_than_us": self.resources.get("slowlog_threshold_us")}
        if len(ours) < self.count:
            raise self.not_in_effect(f"SLOWLOG shows {len(ours)} of {self.count} slow commands of this fault", **facts)
        return f"SLOWLOG shows {len(ours)} commands of {min(durations):.0f}..{max(durations):.0f} ms", facts

    def _revert_more(self) -> list[str]:
        return ["nothing to restore (the commands have finished; SLOWLOG keeps its history)"]


def _name(entry: dict[str, Any]) -> str:
    name = entry.get("client_name", "")
    return name.decode() if isinstance(name, bytes) else str(name)
