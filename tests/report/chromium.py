"""Headless Chromium driven over the DevTools protocol on a pipe: load a page, wait for it, screenshot.

``--screenshot`` and ``--dump-dom`` capture at load time, before a single-page app such as the Allure
report has rendered; over ``--remote-debugging-pipe`` a test can instead poll the page (with a
deadline) until what it expects is there, then take the picture. No package beyond Chromium is needed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from alertdrill.waiting import poll_until

__all__ = ["FLAGS", "Chromium", "find_chromium"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def find_chromium() -> str | None:
    """Debian's ``chromium`` (or ``$ALERTDRILL_CHROMIUM_BIN``)."""
    return (os.environ.get("ALERTDRILL_CHROMIUM_BIN") or shutil.which("chromium")
            or shutil.which("chromium-browser") or shutil.which("google-chrome"))


class Chromium:
    """``with Chromium(binary, user_data_dir=tmp) as browser: browser.open(url); browser.wait_for(js)``."""

    def __init__(self, binary: str, *, user_data_dir: Path, width: int = 1400, height: int = 1000,
                 timeout: float = 20.0) -> None:
        self.binary, self.user_data_dir = binary, user_data_dir
        self.width, self.height, self.timeout = width, height, timeout
        self.proc: subprocess.Popen | None = None
        self._next_id = 0
        self._buffer = b""
        self.session: str | None = None

    def __enter__(self) -> Chromium:
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def child_fds() -> None:  # the DevTools pipe is fds 3 (commands in) and 4 (answers out)
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        argv = [self.binary, *FLAGS, f"--user-data-dir={self.user_data_dir}",
                f"--window-size={self.width},{self.height}", "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(argv, pass_fds=(3, 4), preexec_fn=child_fds, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self.call("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                             "deviceScaleFactor": 1, "mobile": False})
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(Exception):  # closing is best effort; the process group is ended below
            self.call("Browser.close", session=False, timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # renderer and zygote processes share Chromium's group
        proc.wait(timeout=10)
        for fd in (self._write, self._read):
            with contextlib.suppress(OSError):
                os.close(fd)

    # --- protocol -------------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True,
             timeout: float | None = None) -> dict[str, Any]:
        """Send one command and return its result; RuntimeError on a protocol error or timeout."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._receive(deadline, method)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"Chromium {method}: {answer['error']}")
                return answer.get("result", {})

    def _receive(self, deadline: float, method: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise RuntimeError(f"Chromium did not answer {method} in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium exited while answering {method}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    # --- pages ----------------------------------------------------------------------------------
    def open(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, *, timeout: float = 20.0, reload_on: str | None = None) -> Any:
        """Poll a JavaScript expression until it is truthy; AssertionError with the page text if not.

        ``reload_on``: reload the page (once) when its text shows this, e.g. a transient load error of
        a single-page app; a second occurrence fails the wait as usual.
        """
        reloaded = False

        def probe() -> Any:
            nonlocal reloaded
            value = self.evaluate(expression)
            if not value and reload_on and not reloaded and reload_on in (self.evaluate(
                    "document.body ? document.body.innerText : ''") or ""):
                reloaded = True
                self.call("Page.reload", {"ignoreCache": True})
            return value

        ok, value = poll_until(probe, timeout=timeout, interval=0.2)
        if not ok:
            text = self.evaluate("document.body ? document.body.innerText.slice(0, 600) : ''")
            raise AssertionError(f"page never satisfied {expression!r} within {timeout:g}s; it shows: {text!r}")
        return value

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path
