"""The real native stack: every target up, every rule loaded and fed by real metrics."""

import re

import pytest
import requests

from alertdrill.assertions.promql import selectors
from alertdrill.stack.components import SCRAPE_JOBS

pytestmark = pytest.mark.integration


def _get(info, path, **params):
    response = requests.get(info.prometheus_url + path, params=params, timeout=5)
    response.raise_for_status()
    return response.json()["data"]


def test_every_target_is_up(stack_info):
    targets = _get(stack_info, "/api/v1/targets")["activeTargets"]
    health = {t["labels"]["job"]: t["health"] for t in targets}
    assert health == dict.fromkeys(SCRAPE_JOBS, "up")


def test_every_rule_group_is_loaded_without_errors(stack_info):
    groups = _get(stack_info, "/api/v1/rules")["groups"]
    assert {g["name"] for g in groups} == {"postgres", "redis", "api", "services"}
    broken = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] != "ok"]
    assert broken == []


def test_every_metric_a_rule_uses_is_scraped(stack_info):
    groups = _get(stack_info, "/api/v1/rules")["groups"]
    scraped = set(_get(stack_info, "/api/v1/label/__name__/values"))
    missing = []
    for group in groups:
        for rule in group["rules"]:
            for selector in selectors(rule["query"]):
                name = selector.metric
                if name and name != "ALERTS" and name not in scraped:
                    missing.append(f"{rule['name']}: {name}")
    assert missing == [], "rules reference metrics no exporter produces"


def test_no_alert_fires_on_a_healthy_idle_stack(stack_info):
    alerts = _get(stack_info, "/api/v1/alerts")["alerts"]
    assert [a["labels"]["alertname"] for a in alerts if a["state"] == "firing"] == []


def test_tested_rules_are_scaled_and_differences_recorded(stack_info):
    rules = {r["name"]: r for g in _get(stack_info, "/api/v1/rules")["groups"] for r in g["rules"]}
    assert rules["RedisDown"]["duration"] == 60 / stack_info.time_scale
    assert any(d["alert"] == "RedisDown" and d["what"] == "for" for d in stack_info.differences)


def test_alertmanager_sends_to_the_sink(stack_info):
    status = requests.get(stack_info.alertmanager_url + "/api/v2/status", timeout=5).json()
    assert re.search(rf"url: {re.escape(stack_info.sink_url)}/critical", status["config"]["original"])
    assert requests.get(stack_info.sink_url + "/-/ready", timeout=5).status_code == 200


def test_postgres_runs_as_the_postgres_user_with_shipped_settings(stack_info):
    import psycopg

    with psycopg.connect(stack_info.postgres_dsn, autocommit=True) as conn:
        assert conn.execute("SHOW max_connections").fetchone()[0] == "50"
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}
    assert {"alertdrill_app", "postgres_exporter"} <= roles


def test_redis_has_no_persistence_and_a_memory_limit(stack_info):
    import redis

    client = redis.Redis.from_url(stack_info.redis_url)
    try:
        config = client.config_get("*")
    finally:
        client.close()
    assert config["save"] == "" and config["appendonly"] == "no"
    assert int(config["maxmemory"]) == 32 * 1024 * 1024 and config["maxmemory-policy"] == "noeviction"
