"""A tiny read-only REST API over `tools/data/demo_api.json`, the `http_api` tool's default target.

It is an ASGI app meant to be mounted (the graph server serves it under `/demo-api`), so every
route is relative and the index lists paths, not absolute URLs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DATA_PATH: Final = Path(__file__).resolve().parent / "data" / "demo_api.json"

# route prefix -> (section in the data file, how ids are normalised before lookup)
SECTIONS: Final = {
    "orders": ("orders", str.upper),
    "inventory": ("inventory", str.upper),
    "status": ("services", str.lower),
}


def load_data(path: Path = DATA_PATH) -> dict[str, dict[str, Any]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {section: dict(raw.get(section, {})) for section, _ in SECTIONS.values()}


def create_app(data_path: Path = DATA_PATH) -> Starlette:
    data = load_data(data_path)

    async def index(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "endpoints": {
                    "/orders/{order_id}": f"order status, items, carrier and ETA ({len(data['orders'])} orders)",
                    "/inventory/{sku}": f"stock level and warehouse ({len(data['inventory'])} SKUs)",
                    "/status/{service}": f"service health ({', '.join(sorted(data['services']))})",
                }
            }
        )

    def lookup(prefix: str, param: str) -> Callable[[Request], Awaitable[JSONResponse]]:
        section, normalise = SECTIONS[prefix]

        async def endpoint(request: Request) -> JSONResponse:
            key = str(request.path_params[param])
            for candidate in (key, normalise(key)):
                if candidate in data[section]:
                    return JSONResponse({"id": candidate, **data[section][candidate]})
            return JSONResponse({"error": "not found", "resource": prefix, "id": key}, status_code=404)

        return endpoint

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        # Keep the exception's headers: a 405 must say which methods are allowed (`Allow`).
        headers = exc.headers if isinstance(exc, HTTPException) else None
        return JSONResponse({"error": "not found" if status == 404 else "error"}, status_code=status, headers=headers)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/orders/{order_id}", lookup("orders", "order_id")),
            Route("/inventory/{sku}", lookup("inventory", "sku")),
            Route("/status/{service}", lookup("status", "service")),
        ],
        exception_handlers={HTTPException: http_error},
    )


app = create_app()
