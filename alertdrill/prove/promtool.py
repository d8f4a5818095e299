"""Run candidates through ``promtool test rules`` in batches, and read what the real engine computed.

Every candidate is one test group in a batch file; each check expects *nothing* (``exp_alerts: []``,
``exp_samples: []``), so promtool prints exactly what did fire or evaluate whenever there was
something: the alerts with their labels and annotations, the samples with their values. One promtool
process answers a whole batch (a process per candidate would cost far more than the evaluations), and
batches of different rules run in parallel.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from alertdrill.assertions.durations import format_duration, parse_duration
from alertdrill.errors import ConfigError
from alertdrill.replay.series import encode_values, series_name
from alertdrill.scratch import scratch_dir

__all__ = ["Got", "Outcome", "Probe", "run_batch"]

#: Seconds one batch may take; a batch of ~50 groups takes a second or two.
BATCH_TIMEOUT = 300.0


@dataclass(frozen=True)
class Probe:
    """One test group: input series, the steps to read the alert at, and expressions to evaluate."""

    series: Sequence[tuple[Mapping[str, str], Sequence[float | None]]]
    alert_steps: Sequence[int] = ()
    expr_steps: Sequence[tuple[str, int]] = ()


@dataclass(frozen=True)
class Got:
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    value: float | None = None


@dataclass
class Outcome:
    """What promtool reported for one probe: alerts firing per step, samples per (expr, step)."""

    alerts: dict[int, list[Got]] = field(default_factory=dict)
    samples: dict[tuple[str, int], list[Got]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def firing(self, step: int) -> bool:
        return bool(self.alerts.get(step))

    def true(self, expr: str, step: int) -> bool:
        return bool(self.samples.get((expr, step)))


_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')
_SAMPLE = re.compile(r'\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\} (\S+?)(?:,|$)')


def _labels(text: str) -> dict[str, str]:
    return {k: json.loads(f'"{v}"') for k, v in _LABEL.findall(text)}


def _seconds(text: str) -> float:
    return parse_duration(text.strip().rstrip(",").strip(), what="promtool time")


def _marker(n: int) -> str:
    return f"vector({n})"


def parse_output(text: str, count: int, step: float) -> list[Outcome]:
    """promtool's failure report, per test group.

    promtool names a group only before its alert failures and never before expression failures, so
    every group starts its expression tests with a marker that always "fails": ``vector(N)`` for group
    N. Alert failures are printed before their group's marker, expression failures after it.
    """
    outcomes = [Outcome() for _ in range(count)]
    markers = {_marker(n): n for n in range(count)}
    current: Outcome | None = None
    pending: dict[int, list[Got]] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("alertname: ") and ", time: " in line:
            at = round(_seconds(line.split(", time: ", 1)[1]) / step)
            got: list[Got] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("got:"):
                i += 1
            if i < len(lines) and lines[i].strip() not in ("got:[]", "got:[],"):
                i += 1
                while i < len(lines) and lines[i].strip() != "]":
                    row = lines[i].strip()
                    if row.startswith("Labels:"):
                        got.append(Got(_labels(row[len("Labels:"):])))
                    elif row.startswith("Annotations:") and got:
                        got[-1] = Got(got[-1].labels, _labels(row[len("Annotations:"):].rstrip(",")))
                    i += 1
            pending[at] = got
        elif line.startswith("expr: "):
            match = re.match(r'expr: (".*"), time: (\S+?),(?: err: (.*))?$', line)
            if match:
                expr, at = json.loads(match.group(1)), round(_seconds(match.group(2)) / step)
                if expr in markers:
                    current = outcomes[markers[expr]]
                    current.alerts.update(pending)
                    pending = {}
                elif current is not None and match.group(3):
                    current.errors.append(f"{expr}: {match.group(3)}")
                elif current is not None:
                    while i + 1 < len(lines) and not lines[i].strip().startswith("got:"):
                        i += 1
                    row = lines[i].strip()[len("got:"):].strip()
                    current.samples[(expr, at)] = [Got(_labels(lab), value=float(v))
                                                   for lab, v in _SAMPLE.findall(row)] if row != "nil" else []
        i += 1
    return outcomes


def batch_doc(rule_file: str, probes: Sequence[Probe], alert: str, step: float) -> dict[str, Any]:
    interval = format_duration(step)
    tests = []
    for n, probe in enumerate(probes):
        test: dict[str, Any] = {
            "name": f"c{n}", "interval": interval,
            "input_series": [{"series": series_name(labels), "values": encode_values(values)}
                             for labels, values in probe.series],
        }
        if probe.alert_steps:
            test["alert_rule_test"] = [{"eval_time": format_duration(s * step), "alertname": alert, "exp_alerts": []}
                                       for s in probe.alert_steps]
        test["promql_expr_test"] = [{"expr": _marker(n), "eval_time": "0s", "exp_samples": []}]
        test["promql_expr_test"] += [{"expr": e, "eval_time": format_duration(s * step), "exp_samples": []}
                                     for e, s in probe.expr_steps]
        tests.append(test)
    return {"rule_files": [rule_file], "evaluation_interval": interval, "tests": tests}


def run_batch(rules_doc: Mapping[str, Any], probes: Sequence[Probe], *, alert: str, step: float,
              promtool: str | None = None, timeout: float = BATCH_TIMEOUT) -> list[Outcome]:
    """Evaluate every probe with one promtool process; outcomes in the order of ``probes``."""
    from alertdrill.stack.binaries import resolve

    if not probes:
        return []
    with scratch_dir("prove") as folder:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: the batch files are large
        (folder / "rules.yml").write_text(yaml.dump(dict(rules_doc), Dumper=dumper, sort_keys=False, width=100_000))
        doc = batch_doc("rules.yml", probes, alert, step)
        (folder / "batch.test.yml").write_text(yaml.dump(doc, Dumper=dumper, sort_keys=False, width=100_000))
        try:
            done = subprocess.run([promtool or resolve("promtool"), "test", "rules", "batch.test.yml"], cwd=folder,
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"promtool took longer than {timeout:g}s on a batch of {len(probes)} candidates "
                              f"for {alert}") from None
    text = done.stdout + done.stderr
    if done.returncode != 0 and "FAILED:" not in text:
        raise ConfigError(f"promtool could not run the candidates for {alert}: "
                          f"{' '.join(text.split())[:400]}")
    return parse_output(text, len(probes), step)
