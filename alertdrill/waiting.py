"""Polling with a deadline, the only way alertdrill waits for anything.

A thin layer over tenacity so every wait has the same shape: a predicate, a deadline that the caller
derived from configuration, a poll interval, and a description used when the deadline passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

__all__ = ["poll_until"]

T = TypeVar("T")


def poll_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.1,
    accept: Callable[[T], bool] = bool,
) -> tuple[bool, T | None]:
    """Call ``probe`` every ``interval`` s until ``accept(result)`` or ``timeout`` s have passed.

    Returns ``(True, result)`` on success and ``(False, last_result)`` when the deadline passed, so
    the caller can build an error that shows the last value seen. Exceptions from ``probe`` propagate.
    """
    retrying = Retrying(
        stop=stop_after_delay(max(timeout, 0.0)),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda value: not accept(value)),
        reraise=True,
    )
    try:
        result = retrying(probe)
    except RetryError as exc:
        return False, exc.last_attempt.result()
    return True, result
