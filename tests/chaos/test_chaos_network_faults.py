"""Network faults between the API and its dependencies, through the real link proxies of the stack."""

from __future__ import annotations

import time

import pytest
import redis
import requests

from alertdrill.chaos.network import ping
from alertdrill.errors import ConfigError
from alertdrill.stack.components import link_control
from alertdrill.waiting import poll_until

pytestmark = pytest.mark.integration


def _app_redis_clients(stack_info) -> int:
    client = redis.Redis.from_url(stack_info.redis_url, socket_timeout=2)
    try:
        return sum(1 for c in client.client_list() if c.get("name", "").startswith("alertdrill-app"))
    finally:
        client.close()


def test_cut_redis_link_drops_the_apis_connections_but_not_redis(faults, stack_info):
    assert _app_redis_clients(stack_info) >= 3
    with faults.build("network-cut", dependency="redis") as fault:
        evidence = fault.prove()
        assert evidence.facts["through_link_answers"] is False and evidence.facts["direct_answers"] is True
        assert poll_until(lambda: _app_redis_clients(stack_info), timeout=10, accept=lambda n: n == 0)[0]
        body = requests.get(stack_info.app_url + "/helloworld", timeout=10).json()
        assert body == {"msg": "Hello World", "source": "database"}, "the API answers from Postgres meanwhile"
    assert not link_control(stack_info.run_dir, "redis").exists()
    assert poll_until(lambda: _app_redis_clients(stack_info), timeout=10, accept=lambda n: n >= 3)[0]


def test_postgres_latency_slows_the_api_and_is_removed(faults, stack_info):
    port = stack_info.ports["postgres_link"]
    with faults.build("network-latency", dependency="postgres", latency_ms=150) as fault:
        evidence = fault.prove()
        assert evidence.facts["through_link_seconds"] >= 0.15 and evidence.facts["direct_seconds"] < 0.15
        began = time.monotonic()
        assert requests.get(stack_info.app_url + "/items?limit=1", timeout=10).status_code == 200
        assert time.monotonic() - began >= 0.15
    answered, seconds = ping(port, "postgres")
    assert answered and seconds < 0.15


def test_only_linked_dependencies_are_accepted(faults):
    with pytest.raises(ConfigError, match="network-cut dependency must be one of postgres, redis, got 'kafka'"):
        faults.build("network-cut", dependency="kafka")


def test_a_cut_left_by_a_killed_process_is_restored_by_recovery(faults, stack_info, tmp_path):
    import json
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from alertdrill.chaos.recovery import recover_run_dir

    script, ready = tmp_path / "holder.py", tmp_path / "ready"
    script.write_text(
        "import sys, threading\nfrom pathlib import Path\nfrom alertdrill.chaos import Faults\n"
        "from alertdrill.chaos.backend import attach_backend\n"
        "faults = Faults(attach_backend(Path(sys.argv[1])), max_duration=120)\n"
        "fault = faults.build('network-cut', dependency='postgres').inject()\n"
        "Path(sys.argv[2]).write_text(fault.id)\nthreading.Event().wait(90)\n")
    holder = subprocess.Popen([sys.executable, str(script), stack_info.run_dir, str(ready)])
    try:
        assert poll_until(lambda: ready.exists() or holder.poll() is not None, timeout=30)[0] and ready.exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    control = link_control(stack_info.run_dir, "postgres")
    assert json.loads(control.read_text()) == {"cut": True}, "the crash left the link cut"
    lines = recover_run_dir(Path(stack_info.run_dir))
    assert len(lines) == 1 and ready.read_text() in lines[0] and "restored (healthy)" in lines[0]
    assert not control.exists()
    assert ping(stack_info.ports["postgres_link"], "postgres")[0]
