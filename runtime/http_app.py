"""Custom routes served by `langgraph dev` / LangGraph Platform next to the API (`http.app`)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from runtime.metrics import expose_in_default_registry, metrics_text
from tools.demo_api import app as demo_api


async def metrics(request: Request) -> Response:
    """The agent's metrics in Prometheus text format: node latency, tool-cache hits and misses,
    LM calls/tokens/cost, circuit-breaker state (runtime/metrics.py)."""
    body, content_type = metrics_text()
    return Response(body, media_type=content_type)


# Under `langgraph dev` / LangGraph Platform, GET /metrics is the server's own route (it cannot be
# shadowed) and serves prometheus_client's default registry: the agent's series are added there,
# next to the server's. /agent/metrics serves the agent's series alone. Where this app runs on its
# own, its /metrics route answers.
expose_in_default_registry()

app = Starlette(
    routes=[
        Route("/metrics", metrics, methods=["GET"]),
        Route("/agent/metrics", metrics, methods=["GET"]),
        # The demo REST API that the http_api tool queries by default (HTTP_TOOL_BASE_URL).
        Mount("/demo-api", app=demo_api),
    ]
)
