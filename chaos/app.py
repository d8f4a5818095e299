"""App faults through its fault-switch file: failing requests, added latency, lost writes.

The app re-reads ``StackInfo.fault_file`` within 100 ms (stack/app/faults.py). Each fault changes
only its own key and on revert puts back that key's original value (or removes it, and the file if
the fault created it), so several app faults can overlap and end in any order. Evidence is real
HTTP traffic against the app: injected 500s, measured latency, a write that is acknowledged and
then cannot be read back.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import requests

from alertdrill.errors import FaultInjectError
from alertdrill.stack.app.faults import CHECK_INTERVAL_S

from .base import Fault, Magnitude, poll
from .params import Param

__all__ = ["AppDropWrites", "AppErrors", "AppLatency", "AppSwitchFault"]

PROBE_PATH = "/helloworld"
HTTP_TIMEOUT = 10.0
APPLY_TIMEOUT = 10.0
_ABSENT = "__absent__"


class AppSwitchFault(Fault):
    """Sets one key of the app's fault file; subclasses say which and how to see its effect."""

    needs_local_stack = "it writes the API's fault-switch file, which the API reads in the stack's run directory"

    key: ClassVar[str] = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(self.info.fault_file)
        if Path(self.info.run_dir) not in self.path.parents:
            raise FaultInjectError(f"the fault file {self.path} is outside the stack's run directory")
        self.url = self.guard.http_url(self.info.app_url, "app")

    def value(self) -> Any:
        raise NotImplementedError

    def target(self) -> dict[str, Any]:
        return {"stack": self.info.name, "component": "app", "switch": f"{self.path.name}:{self.key}"}

    def _read(self) -> tuple[bool, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False, {}
        try:
            document = json.loads(text or "{}")
        except ValueError as exc:
            raise FaultInjectError(f"the app's fault file {self.path} is not valid JSON ({exc}); fix or delete it"
                                   ) from exc
        if not isinstance(document, dict):
            raise FaultInjectError(f"the app's fault file {self.path} does not hold a JSON object")
        return True, document

    def _write(self, document: dict[str, Any] | None) -> None:
        if document is None:
            self.path.unlink(missing_ok=True)
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)  # a new inode: the app sees the change on its next check

    def _read_original(self) -> dict[str, Any]:
        existed, document = self._read()
        return {"file_existed": existed, "value": document.get(self.key, _ABSENT)}

    def _inject(self) -> None:
        _, document = self._read()
        document[self.key] = self.value()
        self._write(document)
        self._settle()
        poll(self._effect_seen, timeout=APPLY_TIMEOUT, interval=0.02, what=f"the app applying {self.key}")

    def _settle(self) -> None:
        """Wait out the switch's documented staleness: from then on every worker's next request sees the file.

        Each worker re-reads the file at most every CHECK_INTERVAL_S, on a request; there is no
        endpoint that tells which version a worker holds, so the bound itself is the readiness condition.
        """
        written = time.monotonic()
        poll(lambda: time.monotonic() - written > CHECK_INTERVAL_S * 1.5, timeout=APPLY_TIMEOUT, interval=0.02,
             what="the app's fault-switch check interval passing")

    def _effect_seen(self) -> bool:
        """One request that shows the fault (used to wait until the app has re-read its switch)."""
        raise NotImplementedError

    def _get(self) -> tuple[int, float, Any]:
        began = time.monotonic()
        response = requests.get(self.url + PROBE_PATH, timeout=HTTP_TIMEOUT + self._latency_s())
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, time.monotonic() - began, body

    def _latency_s(self) -> float:
        return 0.0

    def _revert(self) -> str:
        try:
            existed, document = self._read()
        except FaultInjectError:
            existed, document = True, {}
        original = self.original.get("value", _ABSENT)
        if original == _ABSENT:
            document.pop(self.key, None)
        else:
            document[self.key] = original
        if not document and not self.original.get("file_existed", False):
            self._write(None)
            summary = f"removed {self.key} and the fault file {self.path.name}"
        else:
            if existed or document:
                self._write(document)
            summary = f"{self.key} restored to {'(absent)' if original == _ABSENT else original!r}"
        self._settle()
        return summary


def _injected(status: int, body: Any) -> bool:
    return status == 500 and isinstance(body, dict) and body.get("error") == "injected fault"


class AppErrors(AppSwitchFault):
    """``ratio`` of requests fail with an injected HTTP 500."""

    kind = "app-errors"
    key = "error_ratio"
    parameters = {"ratio": Param(float, 0.5, low=0, high=1, low_inclusive=False,
                                 help="share of requests that fail with an injected 500")}
    ratio: float
    magnitude_metric = "http_requests_total"

    def value(self) -> float:
        return self.ratio

    def _effect_seen(self) -> bool:
        status, _, body = self._get()
        return _injected(status, body)

    def _prove(self) -> tuple[str, dict[str, Any]]:
        # Enough requests that a working fault shows at least one error with 1e-6 odds of a false alarm.
        samples = min(300, max(10, math.ceil(math.log(1e-6) / math.log(1 - self.ratio)))) if self.ratio < 1 else 10
        results = [self._get() for _ in range(samples)]
        injected = sum(_injected(status, body) for status, _, body in results)
        other = sorted({status for status, _, body in results if status >= 400 and not _injected(status, body)})
        facts = {"requests": samples, "injected_errors": injected, "observed_ratio": round(injected / samples, 3),
                 "configured_ratio": self.ratio, "other_error_statuses": other, "path": PROBE_PATH}
        if injected == 0:
            raise self.not_in_effect(f"none of {samples} requests to {PROBE_PATH} failed with an injected error",
                                     **facts)
        return f"{injected}/{samples} requests to {PROBE_PATH} failed with an injected 500", facts

    def _magnitudes(self, facts: dict[str, Any]) -> list[Magnitude]:
        return [Magnitude(f"share of requests to {PROBE_PATH} answered 5xx", facts["observed_ratio"], need)
                for need in self.needs]


class AppLatency(AppSwitchFault):
    """Every request waits ``latency_ms`` before it is handled."""

    kind = "app-latency"
    key = "latency_ms"
    parameters = {"latency_ms": Param(float, 800.0, low=1, high=60_000, help="added to every request")}
    latency_ms: float

    def value(self) -> float:
        return self.latency_ms

    def _latency_s(self) -> float:
        return self.latency_ms / 1000.0

    def _effect_seen(self) -> bool:
        _, elapsed, _ = self._get()
        return elapsed >= self._latency_s()

    def _prove(self) -> tuple[str, dict[str, Any]]:
        elapsed = [round(self._get()[1] * 1000.0, 1) for _ in range(3)]
        facts = {"latency_ms": self.latency_ms, "measured_ms": elapsed, "path": PROBE_PATH}
        if min(elapsed) < self.latency_ms:
            raise self.not_in_effect(f"requests took {elapsed} ms, not at least {self.latency_ms:g} ms", **facts)
        summary = f"requests to {PROBE_PATH} took {min(elapsed):.0f}..{max(elapsed):.0f} ms (+{self.latency_ms:g} ms)"
        return summary, facts


class AppDropWrites(AppSwitchFault):
    """POST /items answers 201 with an id, but the row is rolled back (a lost write)."""

    kind = "app-drop-writes"
    key = "drop_writes"

    def value(self) -> bool:
        return True

    def _write_and_read(self) -> dict[str, Any]:
        created = requests.post(self.url + "/items", json={"name": f"alertdrill-chaos-probe-{self.id}", "value": 0},
                                timeout=HTTP_TIMEOUT)
        item_id = created.json().get("id") if created.status_code == 201 else None
        read = requests.get(f"{self.url}/items/{item_id}", timeout=HTTP_TIMEOUT) if item_id is not None else None
        return {"post_status": created.status_code, "item_id": item_id,
                "get_status": read.status_code if read is not None else None}

    def _effect_seen(self) -> bool:
        return self._write_and_read()["get_status"] == 404

    def _prove(self) -> tuple[str, dict[str, Any]]:
        facts = self._write_and_read()
        if facts["post_status"] != 201:
            raise self.not_in_effect(f"POST /items answered {facts['post_status']}, not 201", **facts)
        if facts["get_status"] != 404:
            raise self.not_in_effect(f"item {facts['item_id']} was kept (GET answered {facts['get_status']})",
                                     **facts)
        return f"POST /items acknowledged id {facts['item_id']}, GET /items/{facts['item_id']} finds nothing", facts
