"""Alertmanager route-tree resolution: matchers, match/match_re, continue, inherited timings, defaults."""

from __future__ import annotations

import pytest
import yaml

from alertdrill.assertions.routing import DEFAULTS, Route, parse_matchers
from alertdrill.errors import ConfigError

CONFIG = yaml.safe_load("""
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      group_wait: 5s
      group_interval: 1m
      routes:
        - match: {team: db}
          receiver: db-pager
          repeat_interval: 30m
        - match_re: {service: "redis|cache.*"}
          receiver: cache-pager
    - matchers: ['severity=~"warning|info"', 'team!="noise"']
      receiver: chat
      continue: true
    - matchers: ['{severity="warning", env=~"prod"}']
      receiver: warning-prod
      group_interval: 2m
    - match: {severity: warning}
      receiver: never-reached-without-continue
""")


@pytest.fixture
def root() -> Route:
    return Route.from_config(CONFIG)


def test_root_inherits_alertmanager_defaults_where_unset(root):
    assert root.receiver == "default" and root.group_wait == 10
    assert (root.group_interval, root.repeat_interval) == (DEFAULTS["group_interval"], DEFAULTS["repeat_interval"])


def test_unmatched_labels_land_on_the_root(root):
    [route] = root.match({"alertname": "X", "severity": "none"})
    assert (route.receiver, route.path, route.group_wait) == ("default", "route", 10)


def test_children_inherit_and_override(root):
    [route] = root.match({"severity": "critical", "team": "db"})
    assert route.receiver == "db-pager" and route.path == "route.routes[0].routes[0]"
    assert (route.group_wait, route.group_interval, route.repeat_interval) == (5, 60, 1800)
    assert route.group_by == ("alertname",)


def test_parent_is_the_result_when_no_child_matches(root):
    [route] = root.match({"severity": "critical", "team": "web"})
    assert (route.receiver, route.group_wait, route.group_interval, route.repeat_interval) == ("pager", 5, 60, 14400)


def test_match_re_is_anchored(root):
    assert root.match({"severity": "critical", "service": "cache-1"})[0].receiver == "cache-pager"
    assert root.match({"severity": "critical", "service": "myredis"})[0].receiver == "pager"


def test_continue_collects_following_matches_then_stops(root):
    routes = root.match({"severity": "warning", "env": "prod"})
    assert [r.receiver for r in routes] == ["chat", "warning-prod"]
    assert routes[1].group_interval == 120


def test_negative_matcher_and_missing_label_is_empty_string(root):
    assert [r.receiver for r in root.match({"severity": "warning", "team": "noise"})] == [
        "never-reached-without-continue"]
    # env is missing -> "" which does not match =~"prod"; chat has continue, the later plain match catches it
    assert [r.receiver for r in root.match({"severity": "info"})] == ["chat"]


def test_parse_matchers_forms():
    assert [str(m) for m in parse_matchers('{a="x,y", b=~"c|d"}')] == ['a="x,y"', 'b=~"c|d"']
    assert [(m.name, m.op, m.value) for m in parse_matchers("severity != warning ")] == [("severity", "!=", "warning")]
    assert parse_matchers(r'msg="say \"hi\""')[0].value == 'say "hi"'


def test_bad_matcher_and_missing_route_raise_config_error():
    with pytest.raises(ConfigError, match="not 'name op value'"):
        parse_matchers("severity")
    with pytest.raises(ConfigError, match="no 'route'"):
        Route.from_config({"receivers": []})
    with pytest.raises(ConfigError, match="duration"):
        Route.from_config({"route": {"receiver": "x", "group_wait": "soon"}})


LABEL_SETS = [
    {"alertname": "A", "severity": "critical"},
    {"alertname": "A", "severity": "critical", "team": "db"},
    {"alertname": "A", "severity": "critical", "service": "redis"},
    {"alertname": "A", "severity": "critical", "service": "cache-eu"},
    {"alertname": "A", "severity": "critical", "service": "xredis"},
    {"alertname": "A", "severity": "warning"},
    {"alertname": "A", "severity": "warning", "env": "prod"},
    {"alertname": "A", "severity": "warning", "team": "noise"},
    {"alertname": "A", "severity": "warning", "team": "noise", "env": "prod"},
    {"alertname": "A", "severity": "info"},
    {"alertname": "A"},
]


@pytest.mark.parametrize("labels", LABEL_SETS, ids=lambda labels: ",".join(f"{k}={v}" for k, v in labels.items()))
def test_the_resolver_agrees_with_amtool(root, labels, tmp_path):
    """The one route resolver lands where Alertmanager's own amtool does (receivers, in order)."""
    import shutil
    import subprocess

    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool is not installed (Debian package prometheus-alertmanager)")
    config = tmp_path / "alertmanager.yml"
    receivers = {"default", "pager", "db-pager", "cache-pager", "chat", "warning-prod",
                 "never-reached-without-continue"}
    config.write_text(yaml.safe_dump({**CONFIG, "receivers": [{"name": n} for n in sorted(receivers)]}))
    args = [f"{k}={v}" for k, v in labels.items()]
    out = subprocess.run([amtool, "config", "routes", "test", f"--config.file={config}", *args],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    from_amtool = [r.strip() for r in out.strip().split(",") if r.strip()]
    assert [r.receiver for r in root.match(labels)] == from_amtool
