"""Turn the shipped configuration into the configuration of one running stack.

Only addresses and timings change; everything else is the shipped text. Each change that affects
how fast an alert can fire is returned as a Difference for the report.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

from alertdrill.errors import ConfigError
from alertdrill.stack.timescale import Difference, RuleTiming, scale_rule_groups

__all__ = [
    "StackTiming",
    "load_yaml",
    "render_alertmanager_config",
    "render_prometheus_config",
    "render_rules",
]


#: Prometheus' discovery manager hands targets to the scrape manager at most every 5 s (a constant in
#: its code, not a flag): a fresh Prometheus scrapes nothing for up to that long.
PROMETHEUS_DISCOVERY_TICK = 5.0


@dataclass(frozen=True)
class StackTiming:
    """Timings of a running stack. ``production()`` keeps the shipped values."""

    time_scale: float = 60.0
    scrape_interval: str = "1s"
    evaluation_interval: str = "1s"
    group_wait: str = "1s"
    group_interval: str = "1s"
    # A range window must hold a few samples, or rate() is empty and the alert can never fire.
    min_range_scrapes: int = 4
    # Jobs whose exporter needs longer than the fast interval to answer: postgres_exporter 0.11 takes
    # about 1.5 s to report pg_up 0 while Postgres refuses connections, so a 1 s scrape timeout
    # would turn PostgresNotResponding into a failed scrape (and the alert would never fire).
    slow_jobs: tuple[tuple[str, str], ...] = (("postgres", "2s"),)

    def min_range(self) -> float:
        """The shortest range window a tested rule may use: several samples of the slowest job."""
        from alertdrill.assertions.durations import parse_duration

        intervals = [parse_duration(self.scrape_interval or "15s"), *(parse_duration(i) for _, i in self.slow_jobs)]
        return self.min_range_scrapes * max(intervals)

    def absent_for_floor(self) -> float:
        """The shortest ``for`` a scaled rule on ``absent()`` may have: Prometheus' fixed 5 s target
        discovery tick, then one scrape of the slowest job and one evaluation (0 at production timing,
        whose rules run as shipped)."""
        from alertdrill.assertions.durations import parse_duration

        if self.time_scale == 1:
            return 0.0
        scrape = max([parse_duration(self.scrape_interval or "15s"), *(parse_duration(i) for _, i in self.slow_jobs)])
        return PROMETHEUS_DISCOVERY_TICK + scrape + parse_duration(self.evaluation_interval or "15s")

    def lookback_delta(self) -> str:
        """Prometheus' --query.lookback-delta (default 5m), scaled like every other duration.

        A scrape job removed from the configuration gets no staleness markers in Prometheus 2.42: its
        last samples stay visible for the whole lookback, so an alert on the job's absence can only
        fire after it. Scaled, with the range-window floor, the drill can wait for that.
        """
        from alertdrill.assertions.durations import format_duration

        if self.time_scale == 1:
            return "5m"
        return format_duration(max(300.0 / self.time_scale, self.min_range()))

    @classmethod
    def production(cls) -> StackTiming:
        return cls(time_scale=1.0, scrape_interval="", evaluation_interval="", group_wait="",
                   group_interval="", slow_jobs=())


def load_yaml(path: Path, *, what: str) -> dict:
    """Parse a YAML file, with a one-line error naming the file on failure."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist; pass an existing file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{what} {path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} must be a YAML mapping")
    return data


def render_prometheus_config(
    shipped: Mapping,
    *,
    targets: Mapping[str, str],
    alertmanager: str,
    rule_files: list[str],
    timing: StackTiming,
) -> tuple[dict, list[Difference]]:
    """The shipped prometheus.yml with job targets, Alertmanager, rule files and intervals replaced."""
    config = copy.deepcopy(dict(shipped))
    diffs: list[Difference] = []
    glob = config.setdefault("global", {})
    for key, value in (("scrape_interval", timing.scrape_interval),
                       ("evaluation_interval", timing.evaluation_interval)):
        if value and glob.get(key) != value:
            diffs.append(Difference("*", f"prometheus {key}", str(glob.get(key, "1m")), value,
                                    "fast test run"))
            glob[key] = value
    jobs = {job["job_name"]: job for job in config.get("scrape_configs", [])}
    missing = sorted(set(targets) - set(jobs))
    if missing:
        raise ConfigError(f"prometheus.yml has no scrape job named {', '.join(missing)}; add the job")
    for name, address in targets.items():
        jobs[name]["static_configs"] = [{"targets": [address]}]
        for key in ("scrape_interval", "scrape_timeout"):
            if timing.scrape_interval and key in jobs[name]:
                del jobs[name][key]  # the fast global interval applies to every job
    for name, interval in timing.slow_jobs:
        if name in jobs and timing.scrape_interval:
            jobs[name]["scrape_interval"] = jobs[name]["scrape_timeout"] = interval
            diffs.append(Difference("*", f"prometheus job {name} scrape_interval", timing.scrape_interval, interval,
                                    "its exporter needs ~1.5 s to report its target down; a shorter timeout "
                                    "would hide the outage"))
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    config["rule_files"] = list(rule_files)
    return config, diffs


def render_alertmanager_config(
    shipped: Mapping, *, sink_url: str, timing: StackTiming
) -> tuple[dict, list[Difference]]:
    """The shipped alertmanager.yml with webhooks sent to the sink and group timings shortened."""
    config = copy.deepcopy(dict(shipped))
    diffs: list[Difference] = []
    sink = urlsplit(sink_url)
    for receiver in config.get("receivers", []):
        for hook in receiver.get("webhook_configs", []):
            url = urlsplit(hook["url"])
            hook["url"] = urlunsplit((sink.scheme, sink.netloc, url.path or f"/{receiver['name']}", "", ""))

    def shorten(route: dict, where: str) -> None:
        for key, value in (("group_wait", timing.group_wait), ("group_interval", timing.group_interval)):
            if value and key in route and route[key] != value:
                diffs.append(Difference("*", f"alertmanager {where} {key}", str(route[key]), value,
                                        "fast test run"))
                route[key] = value
        for child in route.get("routes", []) or []:
            shorten(child, f"{where}/{child.get('receiver', '?')}")

    route = config.setdefault("route", {})
    for key, value in (("group_wait", timing.group_wait), ("group_interval", timing.group_interval)):
        if value and key not in route:
            route[key] = value  # make the default explicit so it can be shortened
    shorten(route, "route")
    return config, diffs


def render_rules(
    rule_files: list[Path],
    out_dir: Path,
    *,
    timing: StackTiming,
    overrides: Mapping[str, RuleTiming] | None = None,
) -> list[Difference]:
    """Write the scaled copy of each rule file into ``out_dir``; return what changed."""

    out_dir.mkdir(parents=True, exist_ok=True)
    min_range = timing.min_range()
    diffs: list[Difference] = []
    names: set[str] = set()
    for path in rule_files:
        doc = load_yaml(path, what="rule file")
        if not isinstance(doc.get("groups"), list):
            raise ConfigError(f"rule file {path} has no 'groups' list; see the Prometheus rule file format")
        scaled, changes = scale_rule_groups(doc, time_scale=timing.time_scale, min_range=min_range,
                                            overrides=overrides, absent_for_floor=timing.absent_for_floor())
        diffs.extend(changes)
        target = out_dir / path.name
        if path.name in names:
            target = out_dir / f"{len(names)}-{path.name}"
        names.add(path.name)
        target.write_text(yaml.safe_dump(scaled, sort_keys=False, width=120))
    return diffs
