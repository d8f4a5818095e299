"""The notification sink: in-process server, real Alertmanager webhook payloads, long poll, process mode."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from alertdrill.assertions.notifications import MAX_WAIT, SinkClient
from alertdrill.assertions.sink import NotificationSink
from alertdrill.errors import ConfigError

# What Alertmanager 0.25 POSTs to a webhook receiver (captured from the integration stack).
FIRING = json.loads((Path(__file__).parent / "data" / "webhook_firing.json").read_text())


def resolved_payload():
    body = json.loads(json.dumps(FIRING))
    body["status"] = body["alerts"][0]["status"] = "resolved"
    body["alerts"][0]["endsAt"] = "2026-11-21T23:12:47.344123456Z"
    return body


@pytest.fixture
def sink(tmp_path):
    with NotificationSink(port=0, journal=tmp_path / "notifications.jsonl") as running:
        yield running


def test_records_a_webhook_notification(sink, tmp_path):
    before = time.time()
    resp = requests.post(f"{sink.url}/warning", json=FIRING, timeout=5)
    assert resp.status_code == 200 and resp.json() == {"seq": 1}
    [note] = sink.client().notifications()
    assert before <= note.received_at <= time.time()
    assert (note.seq, note.receiver, note.payload_receiver, note.status) == (1, "warning", "warning", "firing")
    assert note.group_key == FIRING["groupKey"] and note.group_labels == {"alertname": "TestSwitchOn"}
    [alert] = note.alerts
    assert alert.name == "TestSwitchOn" and alert.labels["severity"] == "warning"
    assert alert.annotations == {"summary": "the test switch is on"} and alert.fingerprint == "7f4fe8a0d6b6a8e1"
    assert alert.starts_at == pytest.approx(1795302762.344) and alert.ends_at is None
    journal = [json.loads(line) for line in (tmp_path / "notifications.jsonl").read_text().splitlines()]
    assert journal == [note.to_dict()]


def test_long_poll_returns_as_soon_as_a_notification_arrives(sink):
    client = sink.client()
    client.poll(0, 0)  # warm the connection
    threading.Timer(0.3, lambda: requests.post(f"{sink.url}/critical", json=resolved_payload(), timeout=5)).start()
    started = time.monotonic()
    batch = client.poll(since=1, wait=10)
    waited = time.monotonic() - started
    assert 0.25 < waited < 0.6, waited
    [note] = batch.notifications
    assert (batch.next, note.receiver, note.payload_receiver, note.status) == (2, "critical", "warning", "resolved")
    assert note.alerts[0].ends_at == pytest.approx(1795302767.344123)


def test_long_poll_times_out_empty_and_skips_older_notifications(sink):
    requests.post(f"{sink.url}/warning", json=FIRING, timeout=5)
    client = sink.client()
    started = time.monotonic()
    batch = client.poll(since=2, wait=0.3)
    assert 0.28 < time.monotonic() - started < 1.0
    assert (batch.next, batch.notifications) == (2, [])
    assert [n.seq for n in client.poll(since=1, wait=1000).notifications] == [1]  # wait capped, answers at once
    assert MAX_WAIT == 30


def test_clear_keeps_sequence_numbers_growing(sink):
    for _ in range(2):
        requests.post(f"{sink.url}/warning", json=FIRING, timeout=5)
    client = sink.client()
    client.clear()
    assert client.notifications() == []
    requests.post(f"{sink.url}/warning", json=FIRING, timeout=5)
    assert [n.seq for n in client.notifications()] == [3]
    assert client.poll(since=99).next == 4  # a seq from before a restart falls back to the sink's own


def test_receiver_comes_from_the_path_or_else_the_payload(sink):
    requests.post(f"{sink.url}/team%20db", json=FIRING, timeout=5)
    requests.post(f"{sink.url}/", json=FIRING, timeout=5)
    assert [n.receiver for n in sink.notifications()] == ["team db", "warning"]


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("POST", "/warning", b"not json", 400),
    ("POST", "/warning", b'{"receiver": "x"}', 400),
    ("POST", "/warning", b"", 400),
    ("GET", "/notifications?since=-1", None, 400),
    ("GET", "/notifications?wait=soon", None, 400),
    ("GET", "/nowhere", None, 404),
    ("DELETE", "/warning", None, 404),
])
def test_bad_requests_are_refused(sink, method, path, body, status):
    resp = requests.request(method, sink.url + path, data=body, timeout=5)
    assert resp.status_code == status and "error" in resp.json()
    assert sink.notifications() == []


def test_ready_and_metrics(sink):
    assert sink.client().ready()
    requests.post(f"{sink.url}/warning", json=FIRING, timeout=5)
    text = requests.get(f"{sink.url}/metrics", timeout=5).text
    assert 'alertdrill_sink_notifications_total{receiver="warning",status="firing"} 1' in text


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_refuses_non_loopback_hosts(host):
    with pytest.raises(ConfigError, match="loopback"):
        NotificationSink(host=host)


def test_ipv6_loopback_and_journal_resume(tmp_path):
    journal = tmp_path / "j.jsonl"
    with NotificationSink(host="::1", journal=journal) as first:
        assert first.url.startswith("http://[::1]:")
        requests.post(f"{first.url}/a", json=FIRING, timeout=5)
    with NotificationSink(journal=journal) as second:
        requests.post(f"{second.url}/a", json=FIRING, timeout=5)
        assert [n.seq for n in second.notifications()] == [2]
    assert len(journal.read_text().splitlines()) == 2


def test_runs_as_a_standalone_process_and_is_ready_fast(tmp_path):
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "alertdrill.assertions.sink", "--host", "127.0.0.1", "--port", "0",
                             "--journal", str(tmp_path / "n.jsonl")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("alertdrill sink listening on http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split()[4]
        client = SinkClient(url, timeout=2)
        assert client.ready()
        ready_after = time.monotonic() - started
        assert ready_after < 1.5, f"sink took {ready_after:.2f} s to be ready"
        requests.post(f"{url}/warning", json=FIRING, timeout=5)
        assert client.poll(0, 1).notifications[0].receiver == "warning"
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
    assert "notification 1: firing TestSwitchOn to warning" in proc.stderr.read()
    assert len((tmp_path / "n.jsonl").read_text().splitlines()) == 1


def test_standalone_process_rejects_a_public_host():
    result = subprocess.run([sys.executable, "-m", "alertdrill.assertions.sink", "--host", "0.0.0.0"],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 2 and "only listens on loopback" in result.stderr
