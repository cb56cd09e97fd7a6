"""Custom routes served by `langgraph dev` / LangGraph Platform next to the API (`http.app`)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from runtime.metrics import metrics_text
from tools.demo_api import app as demo_api


async def metrics(request: Request) -> Response:
    """Prometheus text format: node latency, tool-cache hits, LM calls/tokens/cost, circuit state."""
    body, content_type = metrics_text()
    return Response(body, media_type=content_type)


app = Starlette(
    routes=[
        Route("/metrics", metrics, methods=["GET"]),
        # The demo REST API that the http_api tool queries by default (HTTP_TOOL_BASE_URL).
        Mount("/demo-api", app=demo_api),
    ]
)
