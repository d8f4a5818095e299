"""Prometheus durations parse and print exactly as Prometheus does."""

from __future__ import annotations

import pytest

from alertdrill.assertions.durations import format_duration, parse_duration
from alertdrill.errors import ConfigError


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0.0), ("0s", 0.0), ("250ms", 0.25), ("1s", 1.0), ("5m", 300.0), ("1m30s", 90.0), ("1h", 3600.0),
    ("1h30m", 5400.0), ("1d", 86400.0), ("1w", 604800.0), ("1y", 31536000.0), ("2d12h", 216000.0),
    ("1h0m5s100ms", 3605.1), (" 10s ", 10.0), (15, 15.0), (0.5, 0.5),
])
def test_parse(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "1.5m", "5 m", "m", "1s1m", "-1s", "1x", "1m1m", "abc", True])
def test_parse_rejects_what_prometheus_rejects(text):
    with pytest.raises(ConfigError, match="duration"):
        parse_duration(text, what="for")


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (0.25, "250ms"), (1, "1s"), (90, "1m30s"), (300, "5m"), (3600, "1h"), (5400, "1h30m"),
    (86400, "1d"), (604800, "1w"), (31536000, "1y"), (90 * 86400, "90d"), (14 * 86400, "2w"), (3605.1, "1h5s100ms"),
])
def test_format(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.001, 1.5, 59, 61, 3599, 86401, 12345.678, 7 * 86400 + 1])
def test_round_trip(seconds):
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


def test_format_rejects_negative():
    with pytest.raises(ConfigError):
        format_duration(-1)
