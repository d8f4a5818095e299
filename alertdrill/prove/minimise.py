"""Shrink a winning input to the fewest series that still fire and resolve (greedy, in batches).

Each round asks promtool, in one batch, whether the proof holds without each unit (a series, or a
histogram's buckets of one label set); then, in a second batch, how many of the units that could go
alone can go together. At most :data:`ROUNDS` rounds: the result has no unit that can be dropped on
its own, which is what "fewest" means here (not a global minimum over every subset).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["ROUNDS", "minimise"]

ROUNDS = 3
T = TypeVar("T")


def minimise(units: list[T], check: Callable[[Sequence[Sequence[T]]], list[bool]]) -> list[T]:
    """``units`` without every unit ``check`` shows the proof does not need."""
    current = list(units)
    for _ in range(ROUNDS):
        if len(current) <= 1:
            break
        alone = check([current[:i] + current[i + 1:] for i in range(len(current))])
        droppable = [i for i, ok in enumerate(alone) if ok]
        if not droppable:
            break
        together = [[u for j, u in enumerate(current) if j not in droppable[:k]] for k in range(len(droppable), 1, -1)]
        oks = check(together) if together else []
        best = next((v for v, ok in zip(together, oks, strict=True) if ok), None)
        current = best if best is not None else [u for j, u in enumerate(current) if j != droppable[0]]
    return current
