"""The HTTP API: liveness, readiness, the seed's hello world, the items resource and /metrics."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, request, url_for
from prometheus_client import CONTENT_TYPE_LATEST

from .exceptions import DependencyUnavailable
from .handlers import error_response
from .metrics import render_metrics
from .state import current_state

__all__ = ["ITEM_CACHE_PREFIX", "api"]

log = logging.getLogger(__name__)

api = Blueprint("api", __name__)

HELLO_CACHE_KEY = "helloworld"
ITEM_CACHE_PREFIX = "item:"
NAME_MAX_CHARS = 200
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
LIMIT_DEFAULT, LIMIT_MAX = 20, 100
_LIMIT_PATTERN = re.compile(r"[0-9]{1,3}")  # ASCII digits only: str.isdigit() also accepts "²"

JsonResponse = Response | tuple[Response, int] | tuple[Response, int, dict[str, str]]


@api.get("/status")
def status() -> JsonResponse:
    """Liveness: the process serves requests. Touches no dependency on purpose."""
    return jsonify({"status": "Up"})


@api.get("/ready")
def ready() -> JsonResponse:
    """Readiness: 200 only when Postgres and Redis both answer; 503 names what is down."""
    state = current_state()
    checks: dict[str, str] = {}
    for name, probe in (("postgres", state.db.ping), ("redis", state.cache.ping)):
        try:
            probe()
            checks[name] = "up"
        except DependencyUnavailable as exc:
            log.debug("readiness: %s", exc)
            checks[name] = "down"
    down = [name for name, result in checks.items() if result == "down"]
    if not down:
        return jsonify({"status": "ready", "checks": checks})
    return error_response(
        503, f"{' and '.join(down)} unavailable",
        status="not ready", dependency=down[0], dependencies=down, checks=checks,
    )


@api.get("/helloworld")
def helloworld() -> JsonResponse:
    """The seed's endpoint, cached in Redis for 30 s; falls back to Postgres when Redis is down."""
    state = current_state()
    redis_error: DependencyUnavailable | None = None
    try:
        cached = state.cache.get_json(HELLO_CACHE_KEY)
        if isinstance(cached, dict) and "msg" in cached:
            return jsonify({"msg": cached["msg"], "source": "cache"})
    except DependencyUnavailable as exc:
        redis_error = exc
    try:
        message = state.db.greeting()
    except DependencyUnavailable as exc:
        if redis_error is None:
            raise
        raise DependencyUnavailable(
            "postgres", f"{exc.detail}; {redis_error.detail}", dependencies=("redis", "postgres")
        ) from exc
    if redis_error is None:
        _cache_quietly(HELLO_CACHE_KEY, {"msg": message})
    return jsonify({"msg": message, "source": "database"})


@api.post("/items")
def create_item() -> JsonResponse:
    """Insert an item; 201 only after the commit (or, with the drop_writes fault, after a rollback)."""
    body = _json_object()
    unknown = sorted(set(body) - {"name", "value"})
    if unknown:
        return error_response(400, f"unknown fields: {', '.join(unknown)}")
    missing = [key for key in ("name", "value") if key not in body]
    if missing:
        return error_response(400, f"missing fields: {', '.join(missing)}")
    name, value = body["name"], body["value"]
    if not isinstance(name, str):
        return error_response(400, "name must be a string")
    if not 1 <= len(name) <= NAME_MAX_CHARS:
        return error_response(400, f"name must be 1..{NAME_MAX_CHARS} characters, got {len(name)}")
    if isinstance(value, bool) or not isinstance(value, int):
        return error_response(400, "value must be an integer")
    if not BIGINT_MIN <= value <= BIGINT_MAX:
        return error_response(400, "value must fit in a signed 64-bit integer")
    item_id = current_state().db.insert_item(name, value, keep=not g.get("drop_writes", False))
    return jsonify({"id": item_id}), 201, {"Location": url_for("api.get_item", item_id=item_id)}


@api.get("/items/<int:item_id>")
def get_item(item_id: int) -> JsonResponse:
    """One item, cache-aside through Redis; a Redis failure quietly reads Postgres instead."""
    state = current_state()
    key = f"{ITEM_CACHE_PREFIX}{item_id}"
    redis_ok = True
    try:
        cached = state.cache.get_json(key)
        if isinstance(cached, dict):
            return jsonify(cached), 200, {"X-Source": "cache"}
    except DependencyUnavailable as exc:
        log.debug("item cache bypassed: %s", exc)
        redis_ok = False
    item = state.db.get_item(item_id) if item_id <= BIGINT_MAX else None
    if item is None:
        return error_response(404, f"item {item_id} not found")
    if redis_ok:
        _cache_quietly(key, item)
    return jsonify(item), 200, {"X-Source": "database"}


@api.get("/items")
def list_items() -> JsonResponse:
    """The most recent items, newest first; ``limit`` is 1..100 (default 20)."""
    raw = request.args.get("limit")
    limit = LIMIT_DEFAULT
    if raw is not None:
        if not _LIMIT_PATTERN.fullmatch(raw) or not 1 <= int(raw) <= LIMIT_MAX:
            return error_response(400, f"limit must be an integer in 1..{LIMIT_MAX}, got {raw!r}")
        limit = int(raw)
    items = current_state().db.list_items(limit)
    return jsonify({"items": items, "count": len(items), "limit": limit})


@api.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition of every worker's samples plus the process-tree metrics."""
    return Response(render_metrics(current_state().registry), content_type=CONTENT_TYPE_LATEST)


def _json_object() -> dict[str, Any]:
    """The request body as a JSON object, or abort with a 400 that says what is wrong."""
    raw = request.get_data(cache=False)
    if not raw:
        abort(400, description="request body must be a JSON object")
    try:
        body = json.loads(raw)
    except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
        abort(400, description=f"invalid JSON: {exc}")
    except RecursionError:
        abort(400, description="invalid JSON: nested too deeply")
    if not isinstance(body, dict):
        abort(400, description="request body must be a JSON object")
    return body


def _cache_quietly(key: str, value: Any) -> None:
    """Fill the cache; a Redis failure here only costs a future cache miss."""
    try:
        current_state().cache.set_json(key, value, current_state().settings.cache_ttl_s)
    except DependencyUnavailable as exc:
        log.debug("cache fill skipped: %s", exc)
