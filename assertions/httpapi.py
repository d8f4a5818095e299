"""One JSON-over-HTTP helper for the Prometheus, Alertmanager and sink clients.

Every network call alertdrill makes to the observation side goes through :meth:`JsonApi.request`, so
the timeout has one default (:data:`DEFAULT_TIMEOUT`) and every failure becomes one
:class:`ObservationError` line that names the URL and what to check. Nothing here retries: callers
that wait for a state poll with a deadline of their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self

import requests

from alertdrill.errors import ConfigError, ObservationError
from alertdrill.netpolicy import require_local

__all__ = ["DEFAULT_TIMEOUT", "JsonApi", "parse_time"]

#: Seconds for connect and for read, per request. The APIs answer in milliseconds on loopback; five
#: seconds is generous and still short enough that a wedged server fails a test instead of hanging it.
DEFAULT_TIMEOUT = 5.0


_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: str | None) -> float | None:
    """Unix seconds from an RFC 3339 time as the Go APIs print it (nanoseconds, ``Z``); the Go zero
    time ("0001-01-01T00:00:00Z") and empty values mean "never" and give None."""
    if not value or value.startswith("0001-01-01"):
        return None
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError as exc:
        raise ObservationError(f"cannot read time {value!r}: not RFC 3339") from exc


def _snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


class JsonApi:
    """A base URL, a ``requests.Session`` and the error policy shared by the observation clients."""

    service = "HTTP API"
    hint = "check that it runs and that the URL is right"

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{self.service} URL {url!r} must start with http:// or https://")
        require_local(url, what=f"{self.service} URL")  # before any socket: no traffic off this machine
        if not timeout or timeout <= 0:
            raise ConfigError(f"{self.service} timeout {timeout!r} must be a positive number of seconds")
        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        self.session = session or requests.Session()
        self.requests_made = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def clone(self) -> Self:
        """The same client with its own session, for use from another thread (sessions are not shared)."""
        return type(self)(self.url, timeout=self.timeout)

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
                body: Any = None, timeout: float | None = None, expect_json: bool = True) -> Any:
        """Send one request; return parsed JSON (or the text when ``expect_json`` is false).

        Raises ObservationError when the server is unreachable, too slow, answers HTTP >= 400 or
        sends something that is not JSON.
        """
        url = self.url + path
        limit = self.timeout if timeout is None else timeout
        self.requests_made += 1
        try:
            resp = self.session.request(method, url, params=params, json=body, timeout=(self.timeout, limit))
        except requests.Timeout as exc:
            raise ObservationError(
                f"{self.service} at {url}: no answer within {limit:g} s; check that it is not paused, "
                "stopped or overloaded") from exc
        except requests.ConnectionError as exc:
            raise ObservationError(
                f"{self.service} at {url}: cannot connect ({_reason(exc)}); {self.hint}") from exc
        except requests.RequestException as exc:
            raise ObservationError(f"{self.service} at {url}: request failed ({exc}); {self.hint}") from exc
        if resp.status_code >= 400:
            raise ObservationError(
                f"{self.service} at {resp.url}: HTTP {resp.status_code} {resp.reason}: "
                f"{_error_text(resp.text)}; {self.status_hint(resp.status_code)}")
        if not expect_json:
            return resp.text
        try:
            return resp.json()
        except (ValueError, json.JSONDecodeError) as exc:
            raise ObservationError(
                f"{self.service} at {resp.url}: answer is not JSON ({_snippet(resp.text) or 'empty body'!r}); "
                f"check that the URL points at {self.service}") from exc

    def status_hint(self, status: int) -> str:
        """What to check for an HTTP error status; subclasses name their own causes."""
        if status == 404:
            return f"check that the URL points at {self.service} and the API version is supported"
        if status >= 500:
            return f"check {self.service}'s log"
        return "check the request parameters"

    def is_ready(self, path: str) -> bool:
        """True when ``GET path`` answers 200; never raises (readiness polls call this in a loop)."""
        try:
            resp = self.session.get(self.url + path, timeout=(self.timeout, self.timeout))
        except requests.RequestException:
            return False
        finally:
            self.requests_made += 1
        return resp.status_code == 200


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "Connection reset", "Remote end closed connection"):
        if marker in text:
            return marker.lower()
    return _snippet(text, 120)


def _error_text(body: str) -> str:
    """Prometheus and Alertmanager put the reason in a JSON ``error`` field; fall back to the body."""
    try:
        data = json.loads(body)
    except ValueError:
        return _snippet(body) or "empty body"
    if isinstance(data, dict) and "error" in data:
        return _snippet(str(data["error"]))
    return _snippet(body)
