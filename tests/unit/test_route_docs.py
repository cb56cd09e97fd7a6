"""The custom routes' docstrings are read as the server's OpenAPI entries without a warning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import Mount, Route
from starlette.schemas import SchemaGenerator

from serving.http_app import app


def routes(items: list[Any], prefix: str = "") -> list[tuple[str, Callable[..., Any]]]:
    out: list[tuple[str, Callable[..., Any]]] = []
    for item in items:
        if isinstance(item, Route):
            out.append((prefix + item.path, item.endpoint))
        elif isinstance(item, Mount):
            out += routes(list(item.routes), prefix + item.path)
    return out


def test_every_custom_route_docstring_parses_as_openapi_yaml() -> None:
    # langgraph-api builds /openapi.json with starlette's SchemaGenerator, which YAML-loads each
    # endpoint's docstring (the part after `---`); one that does not parse is logged as a warning
    # with a traceback at every server start.
    generator = SchemaGenerator({"openapi": "3.0.0", "info": {"title": "agent", "version": "1"}})
    found = routes(list(app.routes))
    assert "/metrics" in dict(found)
    for path, endpoint in found:
        parsed = generator.parse_docstring(endpoint)  # raises yaml's error for a bad docstring
        if path.endswith("metrics"):
            assert parsed["summary"] and set(parsed["responses"]) == {"200", "403"}
