"""Drill results survive summary.json unchanged, and a bad summary is one line naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alertdrill.errors import ConfigError
from alertdrill.matrix import format_text, matrix_rows
from alertdrill.results import AlertResult, DrillResult, RunSummary, TimelineRow
from alertdrill.steps import StepRecord


def _result(**overrides) -> DrillResult:
    values = dict(scenario="s", component="redis", fault="service-stop", started=1.0, injected_at=3.0,
                  reverted_at=4.0, status="passed", params={"component": "redis"},
                  alerts=[AlertResult("A", {"severity": "critical", "instance": "x"}, "critical", fired_after=2.0,
                                      fire_deadline=5.0, status="passed")],
                  steps=[StepRecord("inject", 3.0, 3.5, "passed", {"params": {}})],
                  timeline=[TimelineRow(-0.5, "prometheus", "pending", "A", '{severity="critical"}', "")])
    values.update(overrides)
    return DrillResult(**values)


def test_a_summary_round_trips_through_json(tmp_path: Path) -> None:
    summary = RunSummary([_result()], wall_seconds=12.5, time_scale=60.0)
    again = RunSummary.read(summary.write(tmp_path / "summary.json"))
    assert again == summary
    assert json.loads((tmp_path / "summary.json").read_text())["matrix"][0]["alert"] == "A"


@pytest.mark.parametrize(("text", "message"), [(None, "no summary at"), ("{", "not readable JSON"),
                                               ('{"results": 3}', "needs 'results'"),
                                               ('{"results": [{"status": "passed"}]}',
                                                "needs 'scenario' and 'alerts'")])
def test_a_bad_summary_is_a_one_line_config_error(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "summary.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        RunSummary.read(path)
    assert "\n" not in str(info.value)


def test_the_matrix_hides_the_labels_every_row_shares_and_names_the_cause() -> None:
    failed = _result(scenario="t", status="failed", alerts=[
        AlertResult("B", {"severity": "warning", "service": "redis"}, "warning", status="failed",
                    diagnosis="B never fired: ...", cause="rate() over the gauge redis_memory_used_bytes")])
    rows = matrix_rows([_result(), failed])
    assert [r.title for r in rows] == ["A{severity=critical}", "B{severity=warning}"]
    text = format_text(rows, wall_seconds=60)
    assert "2.0s/5.0s ok" in text and "failed: rate() over the gauge" in text
    assert text.splitlines()[-1].startswith("1/2 alert contracts passed in 60s")


def test_a_late_time_is_marked_late() -> None:
    rows = matrix_rows([_result(alerts=[AlertResult("A", {}, "c", fired_after=6.0, fire_deadline=5.0)])])
    assert rows[0].fired.late and "LATE" in rows[0].fired.text()
