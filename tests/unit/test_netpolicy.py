"""Loopback-only by default, decided from the address alone: no socket, no DNS query."""

import socket

import pytest

from alertdrill.errors import ConfigError
from alertdrill.netpolicy import is_loopback_host, require_local


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to resolve or connect fails the test: the decision must come from the text."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network used: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv("ALERTDRILL_ALLOW_REMOTE", raising=False)


@pytest.fixture
def hosts(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("127.0.0.1 localhost\n127.0.1.1 myhost.lan myhost\n10.0.0.7 db.lan\n::1 ip6-localhost\n"
                    "# 127.0.0.1 commented.lan\n")
    return path


@pytest.mark.parametrize("host,local", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("api.localhost", True), ("myhost", True), ("MyHost.lan", True), ("ip6-localhost", True),
    ("10.0.0.5", False), ("192.168.1.1", False), ("0.0.0.0", False), ("2001:db8::1", False),
    ("db.lan", False), ("commented.lan", False), ("example.com", False), ("", False),
])
def test_loopback_decision(hosts, host, local):
    assert is_loopback_host(host, hosts_file=hosts) is local


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9090", "https://localhost/", "postgresql://postgres@127.0.0.1:5432/db",
    "postgresql:///db?host=/var/run/postgresql", "redis://[::1]:6379/0", "postgresql://a@127.0.0.1,localhost:5/db",
])
def test_local_urls_pass(url):
    require_local(url, what="x")


@pytest.mark.parametrize("url,host", [
    ("http://10.1.2.3:9090", "10.1.2.3"), ("http://user:pw@prom.example:9090/x", "prom.example"),
    ("postgresql://a@127.0.0.1,db.example:5/db", "db.example"),
    ("postgresql://a@127.0.0.1/db?host=10.9.9.9", "10.9.9.9"), ("redis://[2001:db8::2]:6379/0", "2001:db8::2"),
])
def test_remote_urls_are_refused_with_one_line(url, host):
    with pytest.raises(ConfigError) as info:
        require_local(url, what="thing")
    message = str(info.value)
    assert f"(host {host})" in message and "--allow-remote" in message and "\n" not in message


def test_allow_remote_by_argument_and_environment(monkeypatch):
    require_local("http://10.1.2.3", what="x", allowed=True)
    monkeypatch.setenv("ALERTDRILL_ALLOW_REMOTE", "yes")
    require_local("http://10.1.2.3", what="x")
    monkeypatch.setenv("ALERTDRILL_ALLOW_REMOTE", "0")
    with pytest.raises(ConfigError):
        require_local("http://10.1.2.3", what="x")


def test_clients_refuse_before_any_request():
    from alertdrill.assertions.prometheus import PrometheusClient

    with pytest.raises(ConfigError, match=r"Prometheus URL 'http://10\.0\.0\.9:9090' points off this machine"):
        PrometheusClient("http://10.0.0.9:9090")


def test_the_policy_names_the_settings_own_variable():
    from alertdrill.netpolicy import ALLOW_REMOTE_ENV
    from alertdrill.settings import SETTINGS

    assert SETTINGS["allow_remote"].env == ALLOW_REMOTE_ENV
