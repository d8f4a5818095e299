"""A tiny fake Docker Engine API on a loopback TCP port, for testing the compose backend without Docker.

It implements just what the docker SDK calls for the compose backend: version negotiation, listing
containers with label filters, inspect, logs, and the lifecycle POSTs (stop, kill, pause, unpause,
start, restart), and records every request so tests can assert what was (not) asked of the engine.
"""

from __future__ import annotations

import json
import re
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_VERSION = "1.41"
ACTIONS = ("stop", "kill", "pause", "unpause", "start", "restart")


@dataclass
class FakeContainer:
    """One container; ``health`` is a list of statuses reported by successive inspections (last repeats)."""

    id: str
    name: str
    labels: dict[str, str]
    status: str = "running"
    health: list[str] = field(default_factory=lambda: ["healthy"])
    health_output: str = ""
    log: str = ""
    refuse: set[str] = field(default_factory=set)  # actions answered with HTTP 500
    pid: int = 4242

    def inspect(self) -> dict:
        health = self.health[0] if len(self.health) == 1 else self.health.pop(0)
        state: dict = {"Status": self.status, "Running": self.status == "running",
                       "Paused": self.status == "paused", "Pid": self.pid if self.status != "exited" else 0}
        if self.health:
            state["Health"] = {"Status": health if self.status == "running" else "unhealthy",
                               "Log": [{"ExitCode": 0 if health == "healthy" else 1, "Output": self.health_output}]}
        return {"Id": self.id, "Name": "/" + self.name, "State": state,
                "Config": {"Labels": dict(self.labels), "Tty": False, "Image": "fake"}}

    def summary(self) -> dict:
        return {"Id": self.id, "Names": ["/" + self.name], "Labels": dict(self.labels), "State": self.status,
                "Status": self.status, "Image": "fake"}


@dataclass
class FakeEngine:
    containers: dict[str, FakeContainer] = field(default_factory=dict)
    requests: list[tuple[str, str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, container: FakeContainer) -> FakeContainer:
        with self.lock:
            self.containers[container.id] = container
        return container

    def add_service(self, project: str, service: str, **kwargs) -> FakeContainer:
        labels = {"com.docker.compose.project": project, "com.docker.compose.service": service}
        cid = f"{project}-{service}".replace("_", "-") + "-id"
        return self.add(FakeContainer(id=cid, name=f"{project}-{service}-1", labels=labels, **kwargs))

    def find(self, ref: str) -> FakeContainer | None:
        for container in self.containers.values():
            if ref in (container.id, container.name) or (len(ref) >= 4 and container.id.startswith(ref)):
                return container
        return None

    def posts(self) -> list[tuple[str, str, dict]]:
        return [r for r in self.requests if r[0] == "POST"]


def _matches(container: FakeContainer, filters: dict) -> bool:
    for wanted in filters.get("label", []):
        key, _, value = wanted.partition("=")
        if key not in container.labels or (value and container.labels[key] != value):
            return False
    return all(container.name == n or container.name.endswith(n) for n in filters.get("name", []))


def _handler(engine: FakeEngine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, body: object = None, raw: bytes | None = None,
                   content_type: str = "application/json") -> None:
            data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            path = re.sub(r"^/v[0-9.]+", "", url.path)
            with engine.lock:
                engine.requests.append((method, path, query))
                self._dispatch(method, path, query)

        def _dispatch(self, method: str, path: str, query: dict) -> None:
            if path in ("/version", "/_ping"):
                self._reply(200, {"ApiVersion": API_VERSION, "MinAPIVersion": "1.12", "Version": "24.0.0"})
                return
            if method == "GET" and path == "/containers/json":
                filters = json.loads(query.get("filters", "{}"))
                filters = {k: (v if isinstance(v, list) else list(v)) for k, v in filters.items()}
                everything = query.get("all") in ("1", "true", "True")
                found = [c.summary() for c in engine.containers.values()
                         if _matches(c, filters) and (everything or c.status == "running")]
                self._reply(200, found)
                return
            match = re.fullmatch(r"/containers/([^/]+)/(json|logs|" + "|".join(ACTIONS) + ")", path)
            container = engine.find(match.group(1)) if match else None
            if match is None:
                self._reply(404, {"message": f"page not found: {path}"})
            elif container is None:
                self._reply(404, {"message": f"No such container: {match.group(1)}"})
            elif match.group(2) == "json":
                self._reply(200, container.inspect())
            elif match.group(2) == "logs":
                payload = container.log.encode()
                frame = struct.pack(">BxxxL", 1, len(payload)) + payload if payload else b""
                self._reply(200, raw=frame, content_type="application/vnd.docker.raw-stream")
            elif match.group(2) in container.refuse:
                self._reply(500, {"message": f"cannot {match.group(2)} container {container.id}: injected error"})
            else:
                if match.group(2) in ("start", "restart"):
                    container.pid += 1
                container.status = {"stop": "exited", "kill": "exited", "pause": "paused", "unpause": "running",
                                    "start": "running", "restart": "running"}[match.group(2)]
                self._reply(204)

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_HEAD(self) -> None:
            self._route("HEAD")

    return Handler


class FakeDockerServer:
    """``with FakeDockerServer() as fake: docker.DockerClient(base_url=fake.base_url)``."""

    def __init__(self, engine: FakeEngine | None = None) -> None:
        self.engine = engine or FakeEngine()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.engine))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-docker", daemon=True)

    @property
    def base_url(self) -> str:
        return f"tcp://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeDockerServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def on_call(engine: FakeEngine, hook: Callable[[list[str]], None]) -> Callable:
    """A stand-in for subprocess.run that records `docker compose` argv/env and runs ``hook(argv)``."""
    import subprocess

    calls: list[tuple[list[str], dict]] = []

    def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        calls.append((list(argv), dict(kwargs.get("env") or {})))
        hook(list(argv))
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")

    run.calls = calls  # type: ignore[attr-defined]
    return run
