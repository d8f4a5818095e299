"""Helpers shared by the API tests: polling with a deadline and reading Prometheus samples."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tenacity import RetryError, Retrying, retry_if_exception_type, retry_if_result, stop_after_delay, wait_fixed

from alertdrill.stack.ports import free_ports

POLL_INTERVAL_S = 0.05

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float, what: str) -> T:
    """Call ``probe`` until it returns a truthy value (exceptions count as 'not yet'); return it.

    Fails the test with ``what`` once ``timeout`` seconds have passed.
    """
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(POLL_INTERVAL_S),
        retry=retry_if_exception_type(Exception) | retry_if_result(lambda result: not result),
    )
    try:
        return retrying(probe)
    except RetryError as exc:
        last = exc.last_attempt
        detail = repr(last.exception()) if last.failed else repr(last.result())
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {detail})")


def free_port() -> int:
    """A free loopback TCP port, leased to this test process (stack.ports): no parallel worker and no
    outgoing connection takes it between the pick and the server binding it, or while a test has the
    server stopped."""
    return free_ports(1)[0]


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(text: str) -> Samples:
    """Prometheus text exposition as {(sample name, labels): value}."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float:
    """Value of one sample; 0.0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
