"""Rendering the shipped configuration for one stack changes only addresses and timings."""

import pytest
import yaml

from alertdrill.errors import ConfigError
from alertdrill.stack import layout
from alertdrill.stack.rendering import (
    StackTiming,
    load_yaml,
    render_alertmanager_config,
    render_prometheus_config,
    render_rules,
)

TARGETS = {"prometheus": "127.0.0.1:1", "alertmanager": "127.0.0.1:2", "app": "127.0.0.1:3",
           "postgres": "127.0.0.1:4", "redis": "127.0.0.1:5"}


def test_prometheus_targets_intervals_and_rules():
    shipped = load_yaml(layout.PROMETHEUS_CONFIG, what="Prometheus config")
    config, diffs = render_prometheus_config(shipped, targets=TARGETS, alertmanager="127.0.0.1:2",
                                             rule_files=["/run/rules/*.yml"], timing=StackTiming())
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert jobs == {job: [addr] for job, addr in TARGETS.items()}
    assert config["global"]["scrape_interval"] == "1s"
    assert config["rule_files"] == ["/run/rules/*.yml"]
    assert {d.what for d in diffs} == {"prometheus scrape_interval", "prometheus evaluation_interval",
                                       "prometheus job postgres scrape_interval"}
    assert config["scrape_configs"][3]["scrape_timeout"] == "2s"


def test_unknown_job_is_a_config_error():
    shipped = load_yaml(layout.PROMETHEUS_CONFIG, what="Prometheus config")
    with pytest.raises(ConfigError, match="no scrape job named nope"):
        render_prometheus_config(shipped, targets={"nope": "x:1"}, alertmanager="a:1", rule_files=[],
                                 timing=StackTiming())


def test_alertmanager_webhooks_go_to_sink_and_timings_shorten():
    shipped = load_yaml(layout.ALERTMANAGER_CONFIG, what="Alertmanager config")
    config, diffs = render_alertmanager_config(shipped, sink_url="http://127.0.0.1:9999", timing=StackTiming())
    urls = {r["name"]: r["webhook_configs"][0]["url"] for r in config["receivers"]}
    assert urls == {"critical": "http://127.0.0.1:9999/critical", "warning": "http://127.0.0.1:9999/warning"}
    assert config["route"]["group_wait"] == "1s" and config["route"]["group_interval"] == "1s"
    assert config["inhibit_rules"] == shipped["inhibit_rules"]
    assert any(d.what == "alertmanager route group_wait" and d.shipped == "30s" for d in diffs)


def test_production_timing_keeps_shipped_values():
    shipped = load_yaml(layout.ALERTMANAGER_CONFIG, what="Alertmanager config")
    config, diffs = render_alertmanager_config(shipped, sink_url="http://127.0.0.1:1", timing=StackTiming.production())
    assert config["route"]["group_wait"] == "30s" and diffs == []


def test_render_rules_writes_scaled_copies(tmp_path):
    diffs = render_rules(layout.shipped_rule_files(), tmp_path, timing=StackTiming(time_scale=60))
    redis = yaml.safe_load((tmp_path / "redis.yml").read_text())
    rules = {r["alert"]: r for r in redis["groups"][0]["rules"]}
    assert rules["RedisDown"]["for"] == "1s"
    assert "[8s]" in rules["RedisRejectedConnections"]["expr"]  # 5m / 60 = 5 s, floored at 4 x the 2 s postgres job
    assert any(d.alert == "RedisDown" and d.what == "for" for d in diffs)


def test_invalid_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: x\n    rules: [\n")
    with pytest.raises(ConfigError, match=r"bad.yml is not valid YAML at line \d"):
        load_yaml(bad, what="rule file")
