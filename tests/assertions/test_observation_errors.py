"""Error paths: every failure is one ObservationError line naming the URL, within the timeout.

Fakes (tiny loopback http.server instances from conftest) are used here only, for answers a real
Prometheus would not give on demand: HTTP 500, a non-JSON body, a hung server.
"""

from __future__ import annotations

import json
import time

import pytest

from alertdrill.assertions.alertmanager import AlertmanagerClient
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.errors import ConfigError, ObservationError
from alertdrill.stack.ports import free_ports

CLIENTS = [
    (PrometheusClient, lambda c: c.alerts(), "Prometheus"),
    (AlertmanagerClient, lambda c: c.alerts(), "Alertmanager"),
    (SinkClient, lambda c: c.poll(0, 0), "notification sink"),
]


@pytest.fixture
def closed_port_url():
    """A loopback URL nobody listens on: a leased port below the ephemeral range, so no connection can
    be given it as its own source port and "connect" to itself."""
    (port,) = free_ports(1)
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(("cls", "call", "service"), CLIENTS)
def test_unreachable_url_fails_fast_naming_the_url(closed_port_url, cls, call, service):
    client = cls(closed_port_url, timeout=2)
    started = time.monotonic()
    with pytest.raises(ObservationError) as caught:
        call(client)
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert message.startswith(f"{service} at {closed_port_url}/") and "cannot connect (connection refused)" in message
    assert "check that" in message and "\n" not in message
    assert client.ready() is False  # readiness probes never raise


@pytest.mark.parametrize(("cls", "call", "service"), CLIENTS)
def test_a_hung_server_times_out_instead_of_hanging(fake_server, cls, call, service):
    fake = fake_server(200, b"[]", delay=5.0)
    started = time.monotonic()
    with pytest.raises(ObservationError, match=rf"^{service} at {fake.url}/.*: no answer within 0\.3 s"):
        call(cls(fake.url, timeout=0.3))
    assert time.monotonic() - started < 2


def test_http_500_names_status_reason_and_prometheus_error_text(fake_server):
    fake = fake_server(500, json.dumps({"status": "error", "errorType": "internal", "error": "disk full"}).encode())
    with pytest.raises(ObservationError) as caught:
        PrometheusClient(fake.url).rules()
    message = str(caught.value)
    assert message.startswith(f"Prometheus at {fake.url}/api/v1/rules?type=alert: HTTP 500 Internal Server Error")
    assert "disk full" in message and "check Prometheus's log" in message


def test_malformed_json_is_reported_with_a_snippet(fake_server):
    fake = fake_server(200, b"<html><body>Grafana login</body></html>", "text/html")
    with pytest.raises(ObservationError, match=r"answer is not JSON \('<html><body>Grafana login.*check that the URL "
                                               r"points at Alertmanager"):
        AlertmanagerClient(fake.url).alerts()


def test_prometheus_status_error_becomes_observation_error(fake_server):
    fake = fake_server(200, json.dumps({"status": "error", "errorType": "bad_data",
                                        "error": 'parse error: unexpected "}"'}).encode())
    with pytest.raises(ObservationError, match=r"/api/v1/query: bad_data: parse error: unexpected \"}\"; check the "
                                               r"query"):
        PrometheusClient(fake.url).query("up{")


def test_wrong_shapes_are_observation_errors(fake_server):
    fake = fake_server(200, b'{"data": {}}')
    with pytest.raises(ObservationError, match="answer has no 'status'"):
        PrometheusClient(fake.url).alerts()
    with pytest.raises(ObservationError, match="expected a list"):
        AlertmanagerClient(fake.url).alerts()
    with pytest.raises(ObservationError, match=r"no readable config\.original"):
        AlertmanagerClient(fake.url).status()
    with pytest.raises(ObservationError, match="unexpected answer"):
        SinkClient(fake.url).poll()


def test_reload_forbidden_names_the_flag(fake_server):
    fake = fake_server(403, b"Lifecycle API is not enabled.", "text/plain")
    with pytest.raises(ObservationError, match=r"HTTP 403 Forbidden: Lifecycle API is not enabled\.; start "
                                               r"Prometheus with --web.enable-lifecycle"):
        PrometheusClient(fake.url).reload()


def _rule(name, duration, labels):
    return {"type": "alerting", "name": name, "query": "up == 0", "duration": duration, "labels": labels,
            "annotations": {}, "alerts": [], "health": "ok", "state": "inactive"}


RULES = {"status": "success", "data": {"groups": [{"name": "pg", "file": "pg.yml", "interval": 15, "rules": [
    _rule("PostgresDown", 60, {"severity": "critical"}), _rule("PostgresDown", 300, {"severity": "warning"}),
    _rule("RedisDown", 60, {})]}]}}


def test_unknown_alert_name_is_a_config_error_listing_known_names(fake_server):
    fake = fake_server(200, json.dumps(RULES).encode())
    client = PrometheusClient(fake.url)
    known = rf"^no rule named PostgresDwn in {fake.url}; known: PostgresDown, RedisDown$"
    with pytest.raises(ConfigError, match=known):
        client.rule("PostgresDwn")
    assert client.rule("PostgresDown", {"severity": "warning"}).duration == 300
    with pytest.raises(ConfigError, match=r"no rule named PostgresDown .* compatible with \{'severity': 'info'\}"):
        client.rule("PostgresDown", {"severity": "info"})


@pytest.mark.parametrize("url", ["127.0.0.1:9090", "", "ftp://x"])
def test_bad_urls_are_config_errors(url):
    with pytest.raises(ConfigError, match="must start with http"):
        PrometheusClient(url)


def test_bad_timeout_is_a_config_error():
    with pytest.raises(ConfigError, match="timeout"):
        AlertmanagerClient("http://127.0.0.1:1", timeout=0)
