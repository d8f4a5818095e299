"""The simulated clients: what one user of the app does, shared by the profiles' locustfiles.

FastHttpUser (geventhttpclient) costs a fraction of the CPU of the requests-based HttpUser, which
matters on a machine where the app and the load share two cores; ``AppUser`` trims what the API
does not need (cookies). Timeouts are short so a hung app
shows up as failures within seconds instead of users stuck for Locust's default 60 s.
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from typing import Any

from locust import FastHttpUser, between, task

from alertdrill.locustfiles.collect import record_ack
from alertdrill.locustfiles.profiles import STEADY_MIX, WRITE_LEDGER_MIX

__all__ = ["AppUser", "SteadyUser", "WriteLedgerUser"]

#: Ids this process saw acknowledged, for reads by id (newest kept).
_known_ids: deque[int] = deque(maxlen=5000)
VALUE_RANGE = (-(2**62), 2**62)


class AppUser(FastHttpUser):
    """Base user: one task helper per endpoint, each with a stable stats name.

    Leaner than Locust's default FastHttpUser where the API allows: it sets no cookies, so there is
    no cookie jar to consult and update on every request (about 15 % of the client's CPU per request).
    """

    abstract = True
    connection_timeout = 5.0
    network_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client.client.cookiejar = None  # geventhttpclient's UserAgent skips cookies when it is None

    def helloworld(self) -> None:
        self.client.get("/helloworld", name="/helloworld")

    def status(self) -> None:
        self.client.get("/status", name="/status")

    def list_items(self) -> None:
        self.client.get(f"/items?limit={random.randint(1, 50)}", name="/items?limit")

    def read_item(self) -> None:
        """Read an item this process saw acknowledged; a 404 there is data the app lost."""
        if not _known_ids:
            self.list_items()
            return
        item_id = random.choice(_known_ids)
        with self.client.get(f"/items/{item_id}", name="/items/[id]", catch_response=True) as response:
            if response.status_code == 404:
                response.failure(f"acknowledged item {item_id} is not readable (404)")

    def write_item(self) -> int | None:
        """POST an item; on 201 record the acknowledged id with what was sent (the ledger)."""
        name = f"drill-{uuid.uuid4().hex[:16]}"
        value = random.randint(*VALUE_RANGE)
        with self.client.post("/items", json={"name": name, "value": value}, name="/items",
                              catch_response=True) as response:
            if response.status_code != 201:
                if 200 <= response.status_code < 400:
                    response.failure(f"expected 201, got {response.status_code}")
                return None  # >= 400 and no response are failures already
            try:
                item_id = int(response.json()["id"])
            except (ValueError, KeyError, TypeError):
                response.failure(f"201 without an integer id: {response.text[:80]!r}")
                return None
        record_ack(item_id=item_id, name=name, value=value)
        _known_ids.append(item_id)
        return item_id


class SteadyUser(AppUser):
    """A realistic visitor: mostly reads, some writes, a health check now and then, ~1 s think time."""

    wait_time = between(*STEADY_MIX.wait)

    @task(STEADY_MIX.weights["helloworld"])
    def t_helloworld(self) -> None:
        self.helloworld()

    @task(STEADY_MIX.weights["status"])
    def t_status(self) -> None:
        self.status()

    @task(STEADY_MIX.weights["read_item"])
    def t_read_item(self) -> None:
        self.read_item()

    @task(STEADY_MIX.weights["list_items"])
    def t_list_items(self) -> None:
        self.list_items()

    @task(STEADY_MIX.weights["write_item"])
    def t_write_item(self) -> None:
        self.write_item()


class WriteLedgerUser(AppUser):
    """A writer: item writes back to back, each acknowledged id recorded, sometimes read back."""

    wait_time = between(*WRITE_LEDGER_MIX.wait)

    @task(WRITE_LEDGER_MIX.weights["write_item"])
    def t_write_item(self) -> None:
        self.write_item()

    @task(WRITE_LEDGER_MIX.weights["read_back"])
    def t_read_back(self) -> None:
        self.read_item()
