"""Custom routes served by `langgraph dev` / LangGraph Platform next to the API (`http.app`)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from runtime import authmode as auth
from runtime.identity import claim
from runtime.metrics import expose_in_default_registry, metrics_text
from tools.demo_api import app as demo_api


async def metrics(request: Request) -> Response:
    """The agent's metrics in Prometheus text format: node latency, tool-cache hits and misses,
    LM calls/tokens/cost, circuit-breaker state (runtime/metrics.py).

    With tokens on, the server's auth has already verified the caller (`enable_custom_route_auth`);
    the series show every user's spend and models, so the token must also carry `"metrics": true`.
    """
    if auth.enabled() and claim(request.scope.get("user"), "metrics") is not True:
        return JSONResponse({"detail": "this token may not read metrics (claim `metrics`)"}, status_code=403)
    body, content_type = metrics_text()
    return Response(body, media_type=content_type)


# Under `langgraph dev` / LangGraph Platform, GET /metrics is the server's own route: it cannot be
# shadowed, and it is outside auth. So the agent's series are added to it only when tokens are off
# (local development); with tokens on they are served at /agent/metrics alone, to a token with
# `"metrics": true`. Where this app runs on its own, its /metrics route answers.
if not auth.enabled():
    expose_in_default_registry()

app = Starlette(
    routes=[
        Route("/metrics", metrics, methods=["GET"]),
        Route("/agent/metrics", metrics, methods=["GET"]),
        # The demo REST API that the http_api tool queries by default (HTTP_TOOL_BASE_URL).
        Mount("/demo-api", app=demo_api),
    ]
)
