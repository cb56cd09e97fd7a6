"""Custom routes served by `langgraph dev` / LangGraph Platform next to the API (`http.app`), and the request guard."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from runtime import authmode as auth
from runtime.identity import claim
from runtime.metrics import expose_in_default_registry, metrics_text
from runtime.settings import get_settings
from tools.demo_api import app as demo_api

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _host_name(value: str) -> str:
    """`host[:port]` (or `[v6]:port`) without the port, lower case."""
    return (urlsplit(f"//{value}").hostname or "").lower()


def _cors_origins() -> frozenset[str]:
    """The origins langgraph.json's `http.cors` allows (Studio), as the API server read them."""
    try:
        from langgraph_api import config  # only inside the API server
    except ImportError:
        return frozenset()
    cors = config.CORS_CONFIG or {}
    return frozenset(str(o).rstrip("/") for o in cors.get("allow_origins") or ())


def local_mode_problem(method: str, headers: dict[str, str], body: bytes) -> tuple[int, str] | None:
    """Why local mode (AUTH_DISABLED, no tokens) refuses this request, or None.

    With no token to check, the server must not be driven by a web page the developer happens to
    have open: a `Host` that is not loopback is a DNS-rebinding page (421), an `Origin` that is
    neither Studio's nor the server's own is another site (403), and a write whose body is not
    `application/json` is a form or `text/plain` POST, which browsers send cross-site without a
    preflight (415).
    """
    host = headers.get("host", "")
    if _host_name(host) not in LOOPBACK_HOSTS:
        return 421, f"local mode answers only loopback Host names (127.0.0.1, localhost, [::1]), not {host[:100]!r}"
    origin = headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        same_origin = parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()
        if not same_origin and origin.rstrip("/") not in _cors_origins():
            return 403, f"local mode refuses requests from the web origin {origin[:100]!r}"
    if method in WRITES:
        content_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        if (body or content_type) and content_type != "application/json":
            return 415, "local mode accepts writes only as Content-Type: application/json"
    return None


def token_mode_problem(method: str, path: str, body: bytes) -> tuple[int, str] | None:
    """Why token mode refuses this request before the API sees it, or None.

    A client-chosen thread id on create (`POST /threads` with `thread_id`, or a run on
    `/threads/<id>/runs` with `if_not_exists: "create"`) would tell one user whether another user's
    thread exists: the API answers "already exists" (409) or not found for a thread it filters out.
    """
    parts = path.strip("/").split("/")
    creates_thread = parts == ["threads"]
    runs_on_thread = len(parts) >= 3 and parts[0] == "threads" and parts[2] == "runs"
    if method != "POST" or not body or not (creates_thread or runs_on_thread):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None  # the API answers malformed JSON itself
    if not isinstance(payload, dict):
        return None
    if creates_thread and payload.get("thread_id") is not None:
        return 422, "thread ids are assigned by the server: create the thread without `thread_id`"
    if runs_on_thread and payload.get("if_not_exists") == "create":
        return 422, "create the thread first (POST /threads); `if_not_exists: create` is not accepted"
    return None


class RequestGuard:
    """ASGI middleware in front of every route (the API's, `/ok`, `/metrics`, the custom ones).

    It reads a request's body (at most MAX_REQUEST_BYTES; a larger one is refused with 413 before
    more is read, whatever Content-Length says), then applies the checks of the auth mode, then
    hands the body on unchanged. Written as middleware because langgraph-api applies the custom
    app's middleware to every route of the server, also the ones outside auth.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        limit = get_settings().max_request_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, f"request body over {limit:,} bytes (MAX_REQUEST_BYTES)")
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > limit:
                await _refuse(send, 413, f"request body over {limit:,} bytes (MAX_REQUEST_BYTES)")
                return
        method = scope["method"].upper()
        current = auth.mode()
        problem = None
        if current == "disabled":
            problem = local_mode_problem(method, headers, body)
        elif current == "jwt":
            problem = token_mode_problem(method, scope.get("path", ""), body)
        if problem is not None:
            await _refuse(send, *problem)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)


async def _refuse(send: Send, status: int, detail: str) -> None:
    payload = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def metrics(request: Request) -> Response:
    """The agent's metrics in Prometheus text format: node latency, tool-cache hits and misses,
    LM calls/tokens/cost, circuit-breaker state (runtime/metrics.py).

    With tokens on, the server's auth has already verified the caller (`enable_custom_route_auth`);
    the series show every user's spend and models, so the token must also carry the claim metrics=true.
    The server reads the YAML after the line of dashes as this route's OpenAPI entry.
    ---
    summary: The agent's metrics in Prometheus text format
    description: Node latency, tool-cache hits and misses, LM calls, tokens and cost, circuit-breaker state.
    responses:
      "200": {description: Prometheus text exposition format}
      "403": {description: the token does not carry the claim metrics=true}
    """
    if auth.enabled() and claim(request.scope.get("user"), "metrics") is not True:
        return JSONResponse({"detail": "this token may not read metrics (claim `metrics`)"}, status_code=403)
    body, content_type = metrics_text()
    return Response(body, media_type=content_type)


# Under `langgraph dev` / LangGraph Platform, GET /metrics is the server's own route: it cannot be
# shadowed, and it is outside auth. So the agent's series are added to it only in local mode
# (AUTH_DISABLED, loopback only: RequestGuard); with tokens on, or unconfigured, they are served at
# /agent/metrics alone, to a token with `"metrics": true`. Where this app runs on its own, its
# /metrics route answers.
if auth.mode() == "disabled":
    expose_in_default_registry()

app = Starlette(
    routes=[
        Route("/metrics", metrics, methods=["GET"]),
        Route("/agent/metrics", metrics, methods=["GET"]),
        # The demo REST API that the http_api tool queries by default (HTTP_TOOL_BASE_URL).
        Mount("/demo-api", app=demo_api),
    ],
    middleware=[Middleware(RequestGuard)],
)
