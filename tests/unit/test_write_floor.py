"""The write ledger must see the writes the load's rate implies: zero acknowledged writes is a failure."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from alertdrill.errors import ExpectationError
from alertdrill.locustfiles.ledger import MIN_WRITE_SHARE, WriteFloor
from alertdrill.locustfiles.options import LoadOptions
from alertdrill.locustfiles.profiles import STEADY_MIX
from alertdrill.plugin.drill import check_no_write_lost
from alertdrill.results import DrillResult


def test_the_floor_follows_the_configured_rate():
    rate = STEADY_MIX.writes_per_user_second()
    assert rate == pytest.approx(2 / 13 / 1.0)
    floor = WriteFloor.of(users=10, writes_per_user_second=rate, healthy_seconds=20.0)
    assert floor.required == int(MIN_WRITE_SHARE * 10 * rate * 20.0)
    assert "10 users" in floor.formula
    assert "20.0 s healthy (before the fault, after its alerts resolved)" in floor.formula
    floor.check(floor.required, "in the drill")
    with pytest.raises(ExpectationError, match=r"only 0 acknowledged writes in the drill, at least \d+ expected"):
        floor.check(0, "in the drill")


def test_a_window_too_short_for_one_write_still_needs_one():
    assert WriteFloor.of(users=1, writes_per_user_second=0.01, healthy_seconds=1.0).required == 1


class _StoppedLoad:
    """A load whose ledger holds no acknowledged write (a healthy stack cannot be made to produce this)."""

    def __init__(self, directory: Path) -> None:
        self.options = LoadOptions(profile="steady", target="http://127.0.0.1:9", users=10)
        self.artifacts = SimpleNamespace(ledger=directory / "ledger.jsonl")
        self.artifacts.ledger.write_text("")

    def window(self, start: float, end: float):
        return SimpleNamespace(to_dict=lambda: {"start": start, "end": end})


def test_a_drill_without_acknowledged_writes_fails_the_ledger(tmp_path: Path):
    result = DrillResult("s", "redis", "service-stop", [], started=1000.0, injected_at=1005.0, reverted_at=1010.0)
    info = SimpleNamespace(postgres_dsn="postgresql://postgres@127.0.0.1:9/x")
    with pytest.raises(ExpectationError, match=r"ledger: only 0 acknowledged writes in the drill"):
        check_no_write_lost(_StoppedLoad(tmp_path), info, result)
    assert json.loads(json.dumps(result.load_during_fault)) == {"start": 1005.0, "end": 1010.0}


def test_healthy_seconds_leave_out_the_fault_and_the_recovery_until_resolved():
    """postgres-down: after the revert the app's pool reconnects with backoff; writes are owed again only
    once every alert has resolved."""
    from alertdrill.plugin.drill import healthy_seconds
    from alertdrill.results import AlertResult

    result = DrillResult(scenario="s", component="c", fault="f", params={}, started=100.0,
                         alerts=[AlertResult("A", {}, None, resolved_after=3.0),
                                 AlertResult("B", {}, None, resolved_after=1.0)])
    result.injected_at, result.reverted_at = 102.0, 110.0
    assert healthy_seconds(result, end=120.0) == pytest.approx(2.0 + (120.0 - 113.0))
    result.injected_at = result.reverted_at = None  # never injected: the whole drill is healthy
    assert healthy_seconds(result, end=120.0) == pytest.approx(20.0)
