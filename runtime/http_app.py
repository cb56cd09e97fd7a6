"""Custom routes served by `langgraph dev` / LangGraph Platform next to the API (`http.app`)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from tools.demo_api import app as demo_api

# The demo REST API that the http_api tool queries by default (HTTP_TOOL_BASE_URL).
app = Starlette(routes=[Mount("/demo-api", app=demo_api)])
