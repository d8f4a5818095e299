"""Locust workers on other hosts: test hosts in network namespaces join the master bound for them.

The worker hosts are this machine's own network namespaces (``testhosts``): each reaches only the
service address on the host end of a veth pair, where the master listens and the stack's app is
exposed by the project's link proxy. The worker command is the one alertdrill prints; everything
the workers produce (requests, request buckets, acknowledged writes) reaches the master over
Locust's own channel: the workers run in directories of their own, nothing is shared on disk.
"""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest
from netns_hosts import app_listener_on, namespace_hosts, netns_support_missing, processes_in

from alertdrill.locustfiles import LoadRun
from alertdrill.locustfiles.options import remote_workers_setting
from alertdrill.waiting import poll_until

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(netns_support_missing() is not None,
                                 reason=f"no test hosts: {netns_support_missing()}")]

WORKERS = 2


def test_workers_in_other_hosts_join_the_master_and_their_load_and_ledger_reach_the_result(stack_info, tmp_path):
    with (namespace_hosts(WORKERS) as hosts,
          app_listener_on(hosts[0].host_address, stack_info.app_url, tmp_path) as target):
        service = hosts[0].host_address
        announced: list[str] = []
        run = LoadRun(profile="write_ledger", target=target, artifacts_dir=tmp_path / "load", users=4, run_time=60,
                      ledger_dsn=stack_info.postgres_dsn, remote=remote_workers_setting(f"{service}:0", WORKERS),
                      announce=announced.append, startup_timeout=60)
        command = run.remote_worker_command
        assert command is not None
        argv = shlex.split(command)
        assert argv[argv.index("--master-host") + 1] == service
        assert argv[argv.index("--master-port") + 1] == str(run.options.remote.port)
        assert argv[argv.index("-f") + 1].endswith("write_ledger.py")

        with processes_in(hosts, argv, tmp_path / "hosts", limit_s=run._procs.hard_limit) as workers:
            with run as load:  # returns once both remote workers have joined and the test has started
                assert sorted(load.alive()) == ["master"]  # no local worker: all load comes from the hosts
                ok, seen = poll_until(lambda: load.window("start"), timeout=20, interval=0.2,
                                      accept=lambda w: w.requests >= 40)
                assert ok, f"fewer than 40 requests from the worker hosts within 20 s: {seen and seen.requests}"
                load.mark("checked")
                live = load.window("start", "checked")
            ended, codes = poll_until(lambda: [p.poll() for p in workers], timeout=15,
                                      accept=lambda codes: None not in codes)
            assert ended, f"the remote workers did not exit when the master quit: {codes}"

    result = load.result
    assert command in announced[0] and service in announced[0]
    assert (tmp_path / "load" / "worker-command.txt").read_text().strip() == command
    assert result.remote_workers == WORKERS and result.workers == 0
    assert len(result.worker_totals) == WORKERS  # both hosts reported to the master
    assert all(t["requests"] > 0 and t["acks"] > 0 for t in result.worker_totals.values()), result.worker_totals
    assert result.requests == result.buckets.requests == sum(t["requests"] for t in result.worker_totals.values())
    assert result.window("start", "checked").requests == live.requests
    assert result.ledger is not None and result.ledger.ok
    assert result.ledger.acknowledged == sum(t["acks"] for t in result.worker_totals.values()) > 0
    saved = json.loads(result.artifacts.result.read_text())
    assert saved["remote_workers"] == WORKERS and saved["worker_totals"] == result.worker_totals
    assert saved["ledger"]["acknowledged"] == result.ledger.acknowledged


def test_test_hosts_are_gone_afterwards_even_after_a_failure():
    with pytest.raises(RuntimeError, match="boom"), namespace_hosts(2) as hosts:
        names = [h.namespace for h in hosts]
        interfaces = [h.host_interface for h in hosts]
        raise RuntimeError("boom")
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=10).stdout
    assert not any(name in listed for name in names)
    assert not any(f" {iface}@" in links or f" {iface}:" in links for iface in interfaces)
