"""Schemathesis fuzzes the custom HTTP routes (serving/http_app.py: /metrics and /demo-api).

`langgraph dev` publishes these routes in its /openapi.json, but with no parameters or
responses (and the metrics route's docstring parsed as an operation), which gives a fuzzer
nothing to check. So the routes get the small OpenAPI document below, and the same generated
requests go to the app served by uvicorn on its own and to the app behind `langgraph dev`.
Checks: no 5xx, documented status codes and content types, responses match their schemas.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import unsupported_method

from serving.http_app import app
from testkit.server import langgraph_dev, serve_app

MAX_EXAMPLES = 60

NOT_FOUND = {
    "description": "no such resource",
    "content": {
        # A path the mount cannot match at all (an id with a newline: Starlette's `.*` stops there)
        # gets the router's 404, never the app's: plain text from Starlette alone, and
        # langgraph-api's JSON `{"detail": "Not Found"}` behind `langgraph dev`. Under langgraph-api
        # the custom app's exception handlers become the whole server's, so they are not the place
        # to change that.
        "application/json": {"schema": {"anyOf": [
            {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            {"type": "object", "required": ["detail"], "properties": {"detail": {"const": "Not Found"}},
             "additionalProperties": False},
        ]}},
        "text/plain": {"schema": {"type": "string"}},
    },
}  # fmt: skip


RESOURCE = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}


def lookup(param: str) -> dict[str, Any]:
    return {
        "get": {
            "parameters": [{"name": param, "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "the resource",
                    "content": {"application/json": {"schema": RESOURCE}},
                },
                "404": NOT_FOUND,
            },
        }
    }


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "agent custom routes", "version": "1"},
    "paths": {
        "/metrics": {
            "get": {
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string", "pattern": "agent_"}}},
                    }
                }
            }
        },
        "/agent/metrics": {
            "get": {
                "responses": {
                    "200": {
                        "description": "the agent's series alone",
                        "content": {"text/plain": {"schema": {"type": "string", "pattern": "agent_tool_circuit_open"}}},
                    }
                }
            }
        },
        "/demo-api/": {
            "get": {
                "responses": {
                    "200": {
                        "description": "the API's endpoints",
                        "content": {"application/json": {"schema": {"type": "object", "required": ["endpoints"]}}},
                    }
                }
            }
        },
        "/demo-api/orders/{order_id}": lookup("order_id"),
        "/demo-api/inventory/{sku}": lookup("sku"),
        "/demo-api/status/{service}": lookup("service"),
    },
}

schema = schemathesis.openapi.from_dict(SPEC)


@pytest.fixture(scope="module")
def uvicorn_app() -> Iterator[str]:
    with serve_app(app, lifespan="off") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def dev_server() -> Iterator[str]:
    with langgraph_dev(env={"LLM_BASE_URL": "http://127.0.0.1:9/v1", "LLM_MODEL": "scripted"}) as url:
        yield url


@pytest.fixture(scope="module", params=["uvicorn", "langgraph-dev"])
def target(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, str(request.getfixturevalue("uvicorn_app" if request.param == "uvicorn" else "dev_server"))


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_custom_routes_conform_and_never_fail(case: schemathesis.Case, target: tuple[str, str]) -> None:
    kind, base_url = target
    excluded = []
    if case.path.endswith("/metrics") and kind == "langgraph-dev":
        # Behind langgraph-api a custom route only claims its own methods: TRACE /metrics falls
        # through to the API's router and gets its 404, not 405. The server's routing, not ours.
        excluded.append(unsupported_method)
    case.call_and_validate(base_url=base_url, timeout=10, excluded_checks=excluded)


def test_the_served_routes_are_published_and_the_server_is_up_after_fuzzing(dev_server: str) -> None:
    published = httpx.get(f"{dev_server}/openapi.json", timeout=10).json()["paths"]
    assert set(SPEC["paths"]) <= set(published)
    assert httpx.get(f"{dev_server}/ok", timeout=10).json()["ok"] is True
