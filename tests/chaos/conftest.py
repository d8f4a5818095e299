"""Fixtures for the chaos tests: a fault factory on the session stack that checks nothing is left behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chaostest_support import CLEAN, leftovers

from alertdrill.chaos import Faults
from alertdrill.waiting import poll_until


@pytest.fixture
def faults(native_stack) -> Iterator[Faults]:
    """Faults on the session stack; after the test, no journal entry, session, client, key or table remains."""
    assert leftovers(native_stack.info) == CLEAN, "a previous test left something behind"
    yield Faults(native_stack, max_duration=120)
    # Terminated sessions disappear from pg_stat_activity a moment after the revert returns.
    ok, last = poll_until(lambda: leftovers(native_stack.info), timeout=5, interval=0.1,
                          accept=lambda found: found == CLEAN)
    assert ok, f"left behind: {last}"
