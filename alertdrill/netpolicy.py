"""Traffic stays on this machine unless the user says otherwise.

Every client alertdrill builds from a user-given address (the external backend's URLs and DSNs,
``lint --prometheus-url``, the observation clients) asks :func:`require_local` first. The decision is
made from the address alone, before any socket is opened and without a DNS query: an IP literal must
be a loopback address; a name must be ``localhost`` (or ``*.localhost``) or be listed in
``/etc/hosts`` with loopback addresses only. Anything else is refused with one line unless remote
traffic is allowed: ``--allow-remote`` on the command line or in pytest, or ``ALERTDRILL_ALLOW_REMOTE=1``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from alertdrill.errors import ConfigError

__all__ = ["ALLOW_REMOTE_ENV", "HOSTS_FILE", "allow_remote", "is_loopback_host", "remote_allowed", "require_local"]

HOSTS_FILE = Path("/etc/hosts")

#: The setting's one environment variable (alertdrill.settings, SETTINGS["allow_remote"]; a test checks they agree).
ALLOW_REMOTE_ENV = "ALERTDRILL_ALLOW_REMOTE"


def remote_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """True when the user allowed traffic off this machine (``--allow-remote`` / ALERTDRILL_ALLOW_REMOTE)."""
    from alertdrill.settings import resolve_setting  # late: the sink in its container has no settings' deps

    return bool(resolve_setting("allow_remote", environ=environ))


def allow_remote() -> None:
    """Record ``--allow-remote`` for this process and the processes it starts (Locust, faults)."""
    os.environ[ALLOW_REMOTE_ENV] = "1"


def _hosts_file_addresses(name: str, hosts_file: Path) -> list[str]:
    try:
        text = hosts_file.read_text()
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and name.lower() in (f.lower() for f in fields[1:]):
            found.append(fields[0])
    return found


def is_loopback_host(host: str, *, hosts_file: Path = HOSTS_FILE) -> bool:
    """Whether ``host`` certainly means this machine, decided without any network traffic."""
    host = host.strip("[]").split("%", 1)[0]
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    addresses = _hosts_file_addresses(name, hosts_file)
    return bool(addresses) and all(_is_loopback_literal(a) for a in addresses)


def _is_loopback_literal(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _hosts(url: str) -> list[str]:
    """Every host a URL or DSN points at (libpq DSNs may list several, or a ``host=`` parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    hosts = []
    for item in netloc.split(","):
        item = item.strip()
        if item.startswith("["):
            hosts.append(item[1 : item.find("]")])
        elif item:
            hosts.append(item.rsplit(":", 1)[0] if item.count(":") == 1 else item)
    for value in parse_qs(parts.query).get("host", []):
        hosts.extend(h for h in value.split(",") if h and not h.startswith("/"))  # /dir: a Unix socket
    return hosts


def require_local(url: str, *, what: str, allowed: bool | None = None) -> None:
    """Refuse ``url`` (one line naming ``what``) unless every host in it is this machine or remote
    traffic is allowed. A DSN without a host (Unix socket) is local."""
    if allowed is None:
        allowed = remote_allowed()
    if allowed:
        return
    remote = [h for h in _hosts(url) if not is_loopback_host(h)]
    if remote:
        raise ConfigError(
            f"{what} {url!r} points off this machine (host {remote[0]}); alertdrill only contacts loopback "
            f"addresses unless told otherwise: pass --allow-remote (or set {ALLOW_REMOTE_ENV}=1), or use 127.0.0.1")
