"""Annotations that only promtool can render: read them from promtool's own report.

An annotation that uses ``$value`` shows the value at the evaluation it was rendered in; the delivered
notification carries the live value, and the replay evaluates down-sampled series, so the texts differ.
Rendering Go templates here would be a second template engine; instead the replay runs once with the
known annotations, and every firing case promtool reports as different gets the annotations promtool
produced for the same labels. Only annotations are taken over this way: labels, firing times and
silence stay as the recording saw them, so a calibrated file still fails when the alert misbehaves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from alertdrill.assertions.durations import parse_duration
from alertdrill.errors import ConfigError

__all__ = ["GotAlert", "annotations_for", "parse_go_labels", "parse_got_alerts"]

_CASE = re.compile(r"^\s*alertname: (?P<alert>[^,]+), time: (?P<time>[^,]+),\s*$")
_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"',
            "'": "'"}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)")

GotAlert = tuple[dict[str, str], dict[str, str]]


def _unescape(match: re.Match) -> str:
    code = match.group(1)
    if code[0] in "xuU":
        return chr(int(code[1:], 16))
    if code[0].isdigit():
        return chr(int(code, 8))
    return _ESCAPES.get(code, code)


def parse_go_labels(text: str) -> dict[str, str]:
    """``{a="1", b="x\\ny"}`` as Go's labels.String() prints it (strconv.Quote'd values)."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ConfigError(f"promtool printed a label set alertdrill cannot read: {text[:80]!r}")
    return {name: _ESCAPE.sub(_unescape, value) for name, value in _PAIR.findall(text[1:-1])}


def _cases(output: str) -> Iterator[tuple[str, float, list[str]]]:
    alert, at, lines = None, 0.0, []
    for line in output.splitlines():
        match = _CASE.match(line)
        if match:
            if alert is not None:
                yield alert, at, lines
            alert, at, lines = match["alert"].strip(), _seconds(match["time"].strip()), []
        elif alert is not None:
            lines.append(line)
    if alert is not None:
        yield alert, at, lines


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ConfigError:
        return float(text.rstrip("s"))


def parse_got_alerts(output: str) -> dict[tuple[str, float], list[GotAlert]]:
    """(alertname, eval time in s) -> the firing alerts promtool got, for every failed alert case."""
    found: dict[tuple[str, float], list[GotAlert]] = {}
    for alert, at, lines in _cases(output):
        got: list[GotAlert] = []
        in_got, labels = False, None
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("got:"):
                in_got = True
            elif in_got and stripped.startswith("Labels:"):
                labels = parse_go_labels(stripped[len("Labels:"):])
            elif in_got and stripped.startswith("Annotations:") and labels is not None:
                got.append((labels, parse_go_labels(stripped[len("Annotations:"):])))
                labels = None
        found[(alert, at)] = got
    return found


def annotations_for(got: Mapping[tuple[str, float], list[GotAlert]], alert: str, at: float,
                    labels: Mapping[str, str]) -> dict[str, str] | None:
    """The annotations promtool rendered at ``at`` for the instance with exactly ``labels``."""
    want = {**labels, "alertname": alert}
    for got_labels, rendered in got.get((alert, at), []):
        if got_labels == want:
            return rendered
    return None
