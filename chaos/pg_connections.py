"""Hold Postgres connections until a chosen fraction of max_connections is in use.

The alert compares ``sum(pg_stat_activity_count) / max_connections``, so the fault counts exactly
what postgres_exporter counts (sessions with a database and a state, whoever owns them), reads
max_connections live, and opens only the difference. It never goes past
``max_connections - superuser_reserved_connections``: the reserved slots stay free so an operator
(and this fault's own revert) can always get in.
"""

from __future__ import annotations

import math
from typing import Any

from alertdrill.errors import FaultInjectError

from .base import Magnitude
from .params import Param
from .pgbase import CLIENT_BACKENDS_SQL, PostgresFault

__all__ = ["PgConnectionHold"]


class PgConnectionHold(PostgresFault):
    """Idle sessions that fill Postgres up to ``fraction`` of max_connections."""

    builds_up = True

    kind = "pg-connections"

    parameters = {"fraction": Param(float, 0.8, low=0, high=1, low_inclusive=False,
                                    help="share of max_connections held open")}
    fraction: float
    magnitude_metric = "pg_stat_activity_count"

    def _read_original(self) -> dict[str, Any]:
        with self.admin() as conn:
            return {"max_connections": int(self.setting(conn, "max_connections")),
                    "superuser_reserved_connections": int(self.setting(conn, "superuser_reserved_connections"))}

    def _limits(self) -> tuple[int, int, int]:
        max_conn = self.original["max_connections"]
        usable = max_conn - self.original["superuser_reserved_connections"]
        target = math.ceil(self.fraction * max_conn - 1e-9)
        return max_conn, usable, target

    def _inject(self) -> None:
        max_conn, usable, target = self._limits()
        if target > usable:
            raise FaultInjectError(
                f"fraction {self.fraction:g} needs {target} of {max_conn} connections, but only {usable} are not "
                f"reserved for superusers; use a fraction <= {usable / max_conn:.2f}"
            )
        with self.admin() as conn:
            self.require_superuser(conn)
            others = conn.execute(CLIENT_BACKENDS_SQL + " AND pid <> pg_backend_pid()").fetchone()[0]
        need = target - others
        if need <= 0:
            raise FaultInjectError(
                f"{others} of {max_conn} connections are already in use (>= {self.fraction:.0%}); nothing to hold"
            )
        self.resources["target"] = target
        for _ in range(need):  # bounded: need <= max_connections
            self.connect(statement_timeout_ms=None, idle_session_timeout=self.bound_ms())
        # Someone else may have connected meanwhile; stay below the superuser-reserved slots.
        with self.admin() as conn:
            total = conn.execute(CLIENT_BACKENDS_SQL + " AND pid <> pg_backend_pid()").fetchone()[0]
        for _ in range(max(0, total - usable)):
            if self._conns:
                self._conns.pop().close()
        self.resources["held"] = len(self._conns)

    def _prove(self) -> tuple[str, dict[str, Any]]:
        max_conn, usable, target = self._limits()
        with self.admin() as conn:
            total = conn.execute(CLIENT_BACKENDS_SQL + " AND pid <> pg_backend_pid()").fetchone()[0]
            held = len(self.fault_backends(conn))
        facts = {"held": held, "expected_held": len(self._conns), "client_connections": total,
                 "max_connections": max_conn, "usable_by_non_superusers": usable, "target": target,
                 "fraction": self.fraction, "percent_in_use": round(100.0 * total / max_conn, 1)}
        if held < len(self._conns):
            raise self.not_in_effect(f"only {held} of the {len(self._conns)} held connections remain", **facts)
        if total < target:
            raise self.not_in_effect(
                f"{total}/{max_conn} connections ({facts['percent_in_use']}%) in use, below {self.fraction:.0%}",
                **facts)
        return (f"{held} connections held; {total}/{max_conn} = {facts['percent_in_use']}% of max_connections "
                "in use", facts)

    def _magnitudes(self, facts: dict[str, Any]) -> list[Magnitude]:
        """A threshold above 1 is a percentage of max_connections, else a fraction of it."""
        out = []
        for need in self.needs:
            percent = need.value > 1
            measured = facts["percent_in_use"] if percent else facts["percent_in_use"] / 100
            out.append(Magnitude(f"connections in use ({'%' if percent else 'fraction'} of max_connections)",
                                 measured, need))
        return out
