"""Redis faults on the real stack: each proven, seen by redis_exporter where an alert reads it, settings restored."""

from __future__ import annotations

import pytest
import redis
import requests
from chaostest_support import rds, sample

pytestmark = pytest.mark.integration

SETTINGS = ("maxmemory", "maxmemory-policy", "maxclients")


def _settings(info) -> dict[str, str]:
    with rds(info) as client:
        return {name: client.config_get(name)[name] for name in SETTINGS}


@pytest.fixture
def original_settings(stack_info):
    before = _settings(stack_info)
    yield before
    assert _settings(stack_info) == before


def test_memory_fill_to_95_percent_of_maxmemory(faults, stack_info, original_settings):
    with faults.build("redis-memory-fill", fraction=0.95) as fault:
        evidence = fault.prove()
        assert evidence.facts["used_memory"] >= 0.95 * evidence.facts["maxmemory"]
        assert evidence.facts["policy"] == "noeviction"
        used = sample(stack_info, "redis_exporter", "redis_memory_used_bytes")[0]
        limit = sample(stack_info, "redis_exporter", "redis_memory_max_bytes")[0]
        assert used / limit > 0.9  # what RedisOutOfMemory compares


def test_memory_full_under_noeviction_refuses_writes(faults, stack_info, original_settings):
    with faults.build("redis-memory-fill", fraction=1.0) as fault:
        evidence = fault.prove()
        assert "maxmemory" in evidence.facts["write_refused"]
        with rds(stack_info) as client, pytest.raises(redis.ResponseError, match="maxmemory"):
            client.set("some-app-key", "x" * 100_000)


def test_memory_fill_with_an_eviction_policy_evicts_and_restores_the_policy(faults, stack_info, original_settings):
    with faults.build("redis-memory-fill", fraction=1.0, policy="allkeys-lru") as fault:
        evidence = fault.prove()
        assert evidence.facts["policy"] == "allkeys-lru" and evidence.facts["evicted_keys_since_start"] > 0
        assert _settings(stack_info)["maxmemory-policy"] == "allkeys-lru"
    assert _settings(stack_info)["maxmemory-policy"] == original_settings["maxmemory-policy"]


def test_client_flood_passes_100_connected_clients(faults, stack_info):
    with faults.build("redis-client-flood", clients=120) as fault:
        evidence = fault.prove()
        assert evidence.facts["held"] == 120
        assert sample(stack_info, "redis_exporter", "redis_connected_clients")[0] > 100


def test_client_drain_stops_the_app_and_leaves_fewer_than_5_clients(faults, native_stack, stack_info):
    with faults.build("redis-client-drain", below=5) as fault:
        evidence = fault.prove()
        assert evidence.facts["clients"] < 5 and evidence.facts["app_running"] is False
        assert sample(stack_info, "redis_exporter", "redis_connected_clients")[0] < 5
    assert native_stack.process("app").is_alive()
    assert requests.get(stack_info.app_url + "/status", timeout=5).status_code == 200
    with rds(stack_info) as client:
        assert len(client.client_list()) >= 5


def test_maxclients_reached_rejects_connections_and_is_restored_at_once(faults, stack_info, original_settings):
    rejected_before = sample(stack_info, "redis_exporter", "redis_rejected_connections_total")[0]
    with faults.build("redis-maxclients", attempts=5) as fault:
        assert _settings(stack_info)["maxclients"] == original_settings["maxclients"]  # restored inside inject
        evidence = fault.prove()
        assert evidence.facts["refused"] == 5
        assert evidence.facts["rejected_connections_now"] - evidence.facts["rejected_connections_before"] >= 5
        assert sample(stack_info, "redis_exporter", "redis_rejected_connections_total")[0] >= rejected_before + 5
        assert sample(stack_info, "redis_exporter", "redis_up") == [1.0]  # the exporter itself was not refused


def test_blocked_clients_wait_in_blpop(faults, stack_info):
    with faults.build("redis-blocked-clients", clients=3) as fault:
        evidence = fault.prove()
        assert evidence.facts["blocked_by_fault"] == 3
        assert sample(stack_info, "redis_exporter", "redis_blocked_clients")[0] >= 3
    with rds(stack_info) as client:
        assert client.info("clients")["blocked_clients"] == 0


def test_slow_commands_show_in_the_slowlog(faults):
    with faults.build("redis-slow-commands", count=3, duration_ms=150) as fault:
        evidence = fault.prove()
        assert evidence.facts["slow_commands"] >= 3 and min(evidence.facts["durations_ms"]) >= 135


def test_watchdog_reverts_a_real_fault_after_its_max_duration(faults, stack_info, original_settings):
    from alertdrill.waiting import poll_until

    fault = faults.build("redis-memory-fill", fraction=0.3, policy="allkeys-lru", max_duration=1.0).inject()
    try:
        assert _settings(stack_info)["maxmemory-policy"] == "allkeys-lru"
        ok, _ = poll_until(lambda: fault.state == "reverted", timeout=10, interval=0.05)
        assert ok and fault.expired
        assert _settings(stack_info)["maxmemory-policy"] == original_settings["maxmemory-policy"]
    finally:
        fault.revert()
