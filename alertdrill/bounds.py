"""Upper bounds on every wait, computed from the configuration before anything starts.

Each wait alertdrill makes (a fault held until its alert fires, a drill's timeout, the session's
load) follows from the deadlines of the rules under test (:mod:`alertdrill.assertions.deadlines`).
Those deadlines come from the live Prometheus once a stack runs; this module computes the same terms
from the rule *files* and the stack's timing, so a configuration whose waits are unreasonable
(``for: 1000d``) is refused up front with one line saying what the ceiling is and why, and so callers
can size fault lifetimes and load from :func:`session_bounds` instead of constants. (Time scales that
are not finite, positive and at most MAX_TIME_SCALE are refused by alertdrill.settings.)

    bounds = session_bounds(rule_files, timing=StackTiming(time_scale=60))
    bounds.longest.drill_seconds      # the longest fire + deliver + resolve of any rule, with slack
    check_bounded(bounds)             # ConfigError above MAX_WAIT_SECONDS
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from alertdrill.assertions.deadlines import Deadline, Slack, Term, TimingFacts, needs_term
from alertdrill.assertions.durations import format_duration, parse_duration
from alertdrill.assertions.promql import selectors
from alertdrill.errors import ConfigError
from alertdrill.settings import resolve_setting

__all__ = ["MAX_WAIT_SECONDS", "RuleBounds", "SessionBounds", "check_bounded", "check_rules_bounded",
           "session_bounds"]

#: The longest a single drill may need (fire + deliver + resolve). Six hours is the longest a CI job
#: may run (GitHub Actions' job limit) and longer than any unattended pre-release run is watched: a
#: rule that needs more cannot be proven in one run, so it is refused instead of waited for.
MAX_WAIT_SECONDS = 6 * 3600.0

@dataclass(frozen=True)
class RuleBounds:
    """The deadlines of one alerting rule as the stack will run it (scaled), from its file."""

    alert: str
    file: str
    facts: TimingFacts
    slack: Slack

    @property
    def fire(self) -> Deadline:
        return self.facts.fire(self.slack)

    @property
    def deliver(self) -> Deadline:
        return self.facts.deliver(self.slack)

    @property
    def resolve(self) -> Deadline:
        return self.facts.resolve(self.slack)

    @property
    def drill_seconds(self) -> float:
        """How long a drill of this rule may take from inject: delivered, then resolved after the revert."""
        return self.deliver.seconds + self.resolve.seconds


@dataclass(frozen=True)
class SessionBounds:
    """Deadlines of every alerting rule of a session; ``longest`` sizes fault lifetimes and load."""

    rules: tuple[RuleBounds, ...]
    time_scale: float

    @property
    def longest(self) -> RuleBounds | None:
        return max(self.rules, key=lambda r: r.drill_seconds, default=None)

    @property
    def longest_drill_seconds(self) -> float:
        """The longest fire + deliver + resolve of any rule (0 with no alerting rule)."""
        return self.longest.drill_seconds if self.longest else 0.0


def session_bounds(rule_files: Sequence[Path], *, timing, overrides: Mapping | None = None,
                   prometheus_config: Mapping | None = None, alertmanager_config: Mapping | None = None,
                   slack: Slack | None = None) -> SessionBounds:
    """Every alerting rule's deadlines as the stack ``timing`` (a StackTiming) will run them.

    Intervals the fast timing leaves unset (production timing) come from the shipped Prometheus and
    Alertmanager configs, or their defaults (1m scrape and evaluation, 30s group_wait, 5m group_interval).
    """
    from alertdrill.stack import layout
    from alertdrill.stack.rendering import load_yaml
    from alertdrill.stack.timescale import scale_rule_groups

    resolve_setting("time_scale", explicit=timing.time_scale)  # finite, > 0, at most MAX_TIME_SCALE
    if prometheus_config is None:
        prometheus_config = load_yaml(layout.PROMETHEUS_CONFIG, what="Prometheus config")
    if alertmanager_config is None:
        alertmanager_config = load_yaml(layout.ALERTMANAGER_CONFIG, what="Alertmanager config")
    slack = slack or Slack()
    glob = prometheus_config.get("global") or {}
    scrape = _seconds(timing.scrape_interval or glob.get("scrape_interval", "1m"), "scrape_interval")
    jobs = [_seconds(i, f"job {j} scrape_interval") for j, i in timing.slow_jobs]
    if not timing.scrape_interval:
        jobs += [_seconds(job.get("scrape_interval", scrape), "scrape_interval")
                 for job in prometheus_config.get("scrape_configs") or []]
    scrape = max([scrape, *jobs])
    evaluation = _seconds(timing.evaluation_interval or glob.get("evaluation_interval", "1m"), "evaluation_interval")
    group_wait, group_interval = _route_timings(alertmanager_config.get("route") or {}, timing)
    lookback = parse_duration(timing.lookback_delta(), what="lookback delta")
    out: list[RuleBounds] = []
    for path in rule_files:
        doc = load_yaml(path, what="rule file")
        scaled, _ = scale_rule_groups(doc, time_scale=timing.time_scale, min_range=timing.min_range(),
                                      overrides=overrides, absent_for_floor=timing.absent_for_floor())
        for group in scaled.get("groups") or []:
            group_eval = _seconds(group["interval"], "group interval") if group.get("interval") else evaluation
            for rule in group.get("rules") or []:
                if "alert" not in rule:
                    continue
                name = str(rule["alert"])
                where = f"rule {name} in {path}"
                expr = str(rule.get("expr", ""))
                window = max((_seconds(s.range.split(":")[0], "range") for s in selectors(expr) if s.range),
                             default=0.0)
                scrape_term = Term("scrape interval", scrape, "rendered prometheus.yml")
                facts = TimingFacts(
                    scrape=scrape_term,
                    scrape_duration=Term("scrape timeout", scrape, "at most the scrape interval"),
                    needs=needs_term(expr, scrape_term),
                    evaluation=Term("evaluation interval", group_eval, "rendered prometheus.yml"),
                    for_=Term("for", _seconds(rule.get("for", 0), f"{where}: for"), where),
                    keep_firing_for=Term("keep_firing_for",
                                         _seconds(rule.get("keep_firing_for", 0), f"{where}: keep_firing_for"), where),
                    range_window=Term("range window", window, where),
                    group_wait=Term("group_wait", group_wait, "rendered alertmanager.yml"),
                    group_interval=Term("group_interval", group_interval, "rendered alertmanager.yml"),
                    absence=Term("lookback delta", lookback if "absent(" in expr else 0.0, "--query.lookback-delta"),
                )
                out.append(RuleBounds(alert=name, file=str(path), facts=facts, slack=slack))
    return SessionBounds(rules=tuple(out), time_scale=timing.time_scale)


def check_bounded(bounds: SessionBounds, *, ceiling: float = MAX_WAIT_SECONDS) -> SessionBounds:
    """Refuse a session whose longest drill would wait longer than ``ceiling`` seconds (one line)."""
    longest = bounds.longest
    if longest is not None and longest.drill_seconds > ceiling:
        raise ConfigError(
            f"alert {longest.alert} ({longest.file}) needs up to {format_duration(round(longest.drill_seconds))} "
            f"to fire, deliver and resolve at time scale {bounds.time_scale:g} (its `for` is "
            f"{format_duration(longest.facts.for_.seconds)} as tested), above the ceiling of "
            f"{format_duration(ceiling)} (a CI job is cancelled after 6h, so the drill could never finish); "
            "shorten the rule's durations or raise --time-scale")
    return bounds


def _seconds(value: object, what: str) -> float:
    return parse_duration(value if isinstance(value, int | float) else str(value), what=what)


def _route_timings(route: Mapping, timing) -> tuple[float, float]:
    """The longest group_wait and group_interval anywhere in the route tree, as the stack runs it."""
    if timing.group_wait and timing.group_interval:
        return _seconds(timing.group_wait, "group_wait"), _seconds(timing.group_interval, "group_interval")
    waits, intervals = [], []

    def walk(node: Mapping, wait: float, interval: float) -> None:
        wait = _seconds(node.get("group_wait", wait), "group_wait")
        interval = _seconds(node.get("group_interval", interval), "group_interval")
        waits.append(wait)
        intervals.append(interval)
        for child in node.get("routes") or []:
            walk(child, wait, interval)

    walk(route, 30.0, 300.0)
    return max(waits), max(intervals)


def check_rules_bounded(rule_files: Sequence[Path] | None, *, timing, catalogue=None) -> SessionBounds:
    """:func:`session_bounds` of every alerting rule in ``rule_files`` (None: the shipped rules), with
    the ``catalogue``'s rule overrides (alertdrill.catalogue.Catalogue), refused above the ceiling.

    Every rule counts, not only the drilled ones: a session also proves each candidate rule (``alertdrill
    prove``), which waits for its `for` too. Called before anything waits: the pytest plugin (before the
    proofs and the stack) and ``alertdrill up`` (with the shipped catalogue, as a later session would use).
    """
    from alertdrill.stack import layout

    files = list(rule_files) if rule_files else layout.shipped_rule_files()
    overrides = catalogue.rule_overrides if catalogue is not None else None
    return check_bounded(session_bounds(files, timing=timing, overrides=overrides))
