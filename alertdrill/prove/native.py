"""The native stack's inventory as shipped: the app exercised on every route, then captured.

The app exports a route's request counter and latency histogram only once the route has served a
request, so an idle stack's inventory would lack the label sets real traffic produces. Every route is
called a few times (loopback only), then the capture waits until Prometheus has scraped the result.
"""

from __future__ import annotations

from typing import Any

import requests

from alertdrill.errors import ObservationError
from alertdrill.prove.inventory import Inventory
from alertdrill.waiting import poll_until

__all__ = ["ROUTES", "exercise_app", "native_inventory"]

#: (method, path, JSON body) called on the app before a capture: every route, one of them failing (404).
ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/status", None), ("GET", "/ready", None), ("GET", "/helloworld", None),
    ("POST", "/items", {"name": "inventory", "value": 1}), ("GET", "/items", None), ("GET", "/items/1", None),
    ("GET", "/items/999999999", None),
)
#: Seconds one request may take.
REQUEST_TIMEOUT = 5.0


def exercise_app(app_url: str, *, rounds: int = 3) -> None:
    """Call every route ``rounds`` times; any status is fine (a 404 is a label set too)."""
    with requests.Session() as session:
        for _ in range(rounds):
            for method, path, body in ROUTES:
                session.request(method, app_url + path, json=body, timeout=REQUEST_TIMEOUT)


def native_inventory(client: Any, app_url: str, *, scrape_interval: float) -> Inventory:
    """Exercise the app, wait until Prometheus has scraped it (three scrape intervals at most), capture."""
    from alertdrill.prove.run import live_inventory

    exercise_app(app_url)
    wanted = {"/status", "/ready", "/helloworld", "/items", "/items/<int:item_id>"}

    def scraped() -> set[str]:
        return {s.labels.get("endpoint", "") for s in client.query("http_request_duration_seconds_count")}

    done, _ = poll_until(scraped, timeout=3 * scrape_interval + 10, interval=0.5, accept=lambda got: wanted <= got)
    if not done:
        raise ObservationError(f"Prometheus at {client.url} did not scrape the app's requests within "
                               f"{3 * scrape_interval + 10:g}s; is the app target up?")
    return live_inventory(client)
